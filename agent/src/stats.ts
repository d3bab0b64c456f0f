/**
 * Statistics of raw timings, computed once for every runner.
 *
 * - medianMs: median of the per-round medians (a burst of load hits one round, not the estimate);
 * - ciLowMs, ciHighMs: 95% bootstrap interval of medianMs, two-level like the measurement itself
 *   (the rounds resampled with replacement, then the samples within each chosen round), from a
 *   fixed seed so the same timings always give the same interval;
 * - p10Ms, p90Ms, meanMs, stdMs: over all samples pooled;
 * - cv: robust coefficient of variation of the raw samples, interquartile range / (1.349 *
 *   median) (equal to std / mean for normal noise). It describes the measurement's noise: rare
 *   preempted runs do not flag a block, a two-mode timing does, and subtracting the overhead
 *   does not inflate it.
 * The empty-session overhead is subtracted from the location figures (median and its interval,
 * p10, p90, mean), never below zero; std and cv are unchanged by it.
 */
import { createRng, median, quantileSorted, type Rng } from '@fleetnas/shared'

export { median, quantileSorted }

export interface TimingStats {
  medianMs: number
  ciLowMs: number
  ciHighMs: number
  p10Ms: number
  p90Ms: number
  meanMs: number
  stdMs: number
  cv: number
  samples: number
  rounds: number
}

export const BOOTSTRAP_RESAMPLES = 200
const BOOTSTRAP_SEED = 'stats/bootstrap'

const ascending = (a: number, b: number) => a - b


/** Interquartile range / (1.349 * median); 1.349 is the IQR of a standard normal. */
export function robustCv(values: readonly number[]): number {
  const sorted = [...values].sort(ascending)
  const m = quantileSorted(sorted, 0.5)
  if (!(m > 0)) return 0
  return (quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)) / (1.349 * m)
}

/** Gamma(shape >= 1, 1) by Marsaglia and Tsang; each try is accepted with probability > 0.95. */
function gamma(shape: number, rng: Rng): number {
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (let tries = 0; tries < 64; tries++) {
    const x = rng.normal()
    const v = (1 + c * x) ** 3
    if (v <= 0) continue
    if (Math.log(1 - rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v
  }
  return shape // its mean; 64 rejections in a row do not happen in practice
}

/** From here on Beta(a, b) is drawn from the normal with its mean and variance (see beta). */
const NORMAL_BETA_FROM = 32

/**
 * Beta(a, b), a, b >= 1: exact from two gammas for small parameters; for large ones from its normal
 * approximation, several times cheaper: from a, b >= 32 on its 2.5% and 97.5% points move by about
 * 1% of a standard deviation or less, far inside what 200 resamples can resolve.
 */
function beta(a: number, b: number, rng: Rng): number {
  if (a >= NORMAL_BETA_FROM && b >= NORMAL_BETA_FROM) {
    const s = a + b
    return a / s + Math.sqrt((a * b) / (s * s * (s + 1))) * rng.normal()
  }
  const x = gamma(a, rng)
  return x / (x + gamma(b, rng))
}

/**
 * The median of n values drawn with replacement from `sorted`, drawn in O(1) instead of O(n).
 * Drawing an index is taking floor(n U) of a uniform U, and floor is monotone, so the k-th smallest
 * drawn value is sorted[floor(n U(k))] with U(k) the k-th smallest of n uniforms, which is
 * Beta(k, n + 1 - k). For even n the next order statistic is the smallest of the n - k uniforms
 * above U(k). This is the distribution of resampling the round and taking its median: exactly, or
 * for long rounds up to beta's normal approximation.
 */
function resampledMedian(sorted: readonly number[], rng: Rng): number {
  const n = sorted.length
  if (n % 2 === 1) {
    const k = (n + 1) / 2
    return sorted[indexAt(beta(k, k, rng), n)]
  }
  const k = n / 2
  const lo = beta(k, k + 1, rng)
  const hi = lo + (1 - lo) * (1 - (1 - rng.next()) ** (1 / k))
  return (sorted[indexAt(lo, n)] + sorted[indexAt(hi, n)]) / 2
}

/** floor(n u) kept in range. (Not a closure: this runs per draw, and tsx wraps closures.) */
function indexAt(u: number, n: number): number {
  return Math.max(0, Math.min(n - 1, Math.floor(u * n)))
}

/**
 * `resamples` bootstrap replicates of the median of round medians: the rounds drawn with
 * replacement, then each chosen round's samples drawn with replacement. `sortedRounds`: each
 * round's samples in ascending order, no round empty.
 */
export function bootstrapMedians(sortedRounds: readonly (readonly number[])[], resamples: number, rng: Rng): Float64Array {
  const r = sortedRounds.length
  const medians = new Float64Array(r)
  const out = new Float64Array(resamples)
  for (let i = 0; i < resamples; i++) {
    for (let j = 0; j < r; j++) medians[j] = resampledMedian(sortedRounds[rng.int(r)], rng)
    out[i] = quantileSorted(medians.sort(), 0.5)
  }
  return out
}

/**
 * 95% percentile interval of the bootstrap replicates, widened where needed to contain the
 * estimate itself (with few rounds the replicates can fall to one side of it).
 */
export function bootstrapInterval(sortedRounds: readonly (readonly number[])[], estimate: number, resamples = BOOTSTRAP_RESAMPLES): { low: number; high: number } {
  const reps = bootstrapMedians(sortedRounds, resamples, createRng(BOOTSTRAP_SEED)).sort()
  return { low: Math.min(estimate, quantileSorted(reps, 0.025)), high: Math.max(estimate, quantileSorted(reps, 0.975)) }
}

/** `rounds`: one array of raw run times (ms) per round; empty rounds are ignored. */
export function summarizeTimings(rounds: readonly (readonly number[])[], overheadMs = 0): TimingStats {
  const sortedRounds = rounds.filter((r) => r.length > 0).map((r) => [...r].sort(ascending))
  const all = sortedRounds.flat().sort(ascending)
  if (all.length === 0) throw new Error('no timings to summarize')
  const n = all.length
  const mean = all.reduce((s, v) => s + v, 0) / n
  const std = n > 1 ? Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0
  const net = (v: number) => Math.max(0, v - overheadMs)
  const grossMedian = median(sortedRounds.map((r) => quantileSorted(r, 0.5)))
  const ci = bootstrapInterval(sortedRounds, grossMedian)
  return {
    medianMs: net(grossMedian),
    ciLowMs: net(ci.low),
    ciHighMs: net(ci.high),
    p10Ms: net(quantileSorted(all, 0.1)),
    p90Ms: net(quantileSorted(all, 0.9)),
    meanMs: net(mean),
    stdMs: std,
    cv: robustCv(all),
    samples: n,
    rounds: sortedRounds.length,
  }
}
