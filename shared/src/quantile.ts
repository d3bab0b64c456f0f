/** Quantiles of plain number lists, for every package (statistics, reports, benchmarks). */

/** Linear-interpolated quantile of values already sorted ascending; NaN for none. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/** Linear-interpolated quantile (q in [0, 1]); NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q)
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}
