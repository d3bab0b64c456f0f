/** Plain-text tables and number formatting for CLI output. */

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

/** Milliseconds with three significant digits: a 4 us block reads 0.00400, never 0.000. */
export function ms(v: number | undefined | null): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '-'
  if (v >= 100) return v.toFixed(0)
  if (v >= 10) return v.toFixed(1)
  if (v >= 1) return v.toFixed(2)
  return v > 0 ? v.toPrecision(3) : '0'
}

/** Half the width of a 95% interval as a share of the median: "±1.2%", or "-" without an interval. */
export function plusMinus(median: number, low: number | null | undefined, high: number | null | undefined): string {
  if (low == null || high == null || !(median > 0)) return '-'
  return `±${(((high - low) / 2 / median) * 100).toFixed(1)}%`
}

export function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '-' : `${(v * 100).toFixed(1)}%`
}

export { median } from '@fleetnas/shared'
