/**
 * Statistics of raw timings, computed once for every runner.
 *
 * - medianMs: median of the per-round medians (a burst of load hits one round, not the estimate);
 * - p10Ms, p90Ms, meanMs, stdMs: over all samples pooled;
 * - cv: robust coefficient of variation of the raw samples, interquartile range / (1.349 *
 *   median) (equal to std / mean for normal noise). It describes the measurement's noise: rare
 *   preempted runs do not flag a block, a two-mode timing does, and subtracting the overhead
 *   does not inflate it.
 * The empty-session overhead is subtracted from the location figures (median, p10, p90, mean),
 * never below zero; std and cv are unchanged by it.
 */

export interface TimingStats {
  medianMs: number
  p10Ms: number
  p90Ms: number
  meanMs: number
  stdMs: number
  cv: number
  samples: number
  rounds: number
}

/** Linear-interpolated quantile of sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5)
}

/** Interquartile range / (1.349 * median); 1.349 is the IQR of a standard normal. */
export function robustCv(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const m = quantileSorted(sorted, 0.5)
  if (!(m > 0)) return 0
  return (quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)) / (1.349 * m)
}

/** `rounds`: one array of raw run times (ms) per round; empty rounds are ignored. */
export function summarizeTimings(rounds: readonly (readonly number[])[], overheadMs = 0): TimingStats {
  const used = rounds.filter((r) => r.length > 0)
  const all = used.flat().sort((a, b) => a - b)
  if (all.length === 0) throw new Error('no timings to summarize')
  const n = all.length
  const mean = all.reduce((s, v) => s + v, 0) / n
  const std = n > 1 ? Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0
  const net = (v: number) => Math.max(0, v - overheadMs)
  return {
    medianMs: net(median(used.map(median))),
    p10Ms: net(quantileSorted(all, 0.1)),
    p90Ms: net(quantileSorted(all, 0.9)),
    meanMs: net(mean),
    stdMs: std,
    cv: robustCv(all),
    samples: n,
    rounds: used.length,
  }
}
