/**
 * Figures beside their targets: each row has a value, a limit and whether it passes, printed as
 * an aligned table and kept as data for --json.
 */
export interface TargetRow {
  name: string
  value: number
  /** Rendered value, e.g. "2.41%". */
  shown: string
  limit: number
  limitShown: string
  pass: boolean
  note?: string
}

/** A figure that must stay at or below `limit`; NaN (not measured) fails. */
export function atMost(name: string, value: number, limit: number, fmt: (v: number) => string, note?: string): TargetRow {
  return { name, value, shown: Number.isFinite(value) ? fmt(value) : 'n/a', limit, limitShown: `<= ${fmt(limit)}`, pass: value <= limit, ...(note ? { note } : {}) }
}

export function renderTargets(rows: readonly TargetRow[]): string {
  const w0 = Math.max(...rows.map((r) => r.name.length))
  const w1 = Math.max(...rows.map((r) => r.shown.length))
  const w2 = Math.max(...rows.map((r) => r.limitShown.length))
  return rows
    .map((r) => `  ${r.name.padEnd(w0)}  ${r.shown.padStart(w1)}  target ${r.limitShown.padEnd(w2)}  ${r.pass ? 'PASS' : 'MISS'}${r.note ? `  (${r.note})` : ''}`)
    .join('\n')
}

export const pct = (v: number) => `${(v * 100).toFixed(2)}%`
export const pct1 = (v: number) => `${v.toFixed(2)}%`
export const mins = (v: number) => `${v.toFixed(1)} min`
export const mb = (v: number) => `${v.toFixed(1)} MB`
