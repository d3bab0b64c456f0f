/** Numbers, times and sizes as the pages print them. */

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  if (v === 0) return '0 ms'
  if (v < 0.01) return `${(v * 1000).toFixed(1)} µs`
  if (v < 1) return `${v.toFixed(3)} ms`
  if (v < 100) return `${v.toFixed(2)} ms`
  return `${v.toFixed(0)} ms`
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)}%`
}

export function bytes(v: number | null | undefined): string {
  if (!v) return '–'
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`
}

/** "12 s ago", "3 min ago", or the date for anything older than a day. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never'
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return iso
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${Math.round(s / 3600)} h ago`
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ')
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toISOString().slice(0, 19).replace('T', ' ') : '–'
}
