/**
 * Fits an architecture's end-to-end latency on one LUT: a linear model over the features of
 * features.ts, by weighted least squares (each architecture weighs by 1 / its latency, so the fit
 * minimises relative error, what users read), shrunk toward the bare sum (every net median once,
 * plus one call's overhead) so that a small calibration set moves it only as far as the data
 * supports. The shrinkage strength is chosen by cross-validation; the report's figures are the
 * cross-validated (held-out) predictions, and the prediction interval comes from their errors.
 * Too few calibration architectures: the model is the bare sum, and says so.
 *
 * The squares are Huber's (reweighted a bounded number of times): whole-network measurements with
 * more threads than the machine has idle cores carry heavy-tailed errors (a run that shared its
 * cores with another process is 20-50% slow), and a plain least-squares fit leans toward those
 * few, under-predicting the typical architecture (bench:latency dumps at 2 threads: median error
 * -4% with least squares, -0% to -2% with Huber's loss; 1 thread unchanged).
 */
import { Matrix, solve } from 'ml-matrix'
import { createRng, quantile } from '@fleetnas/shared'
import { FEATURES, sumPrior } from './features.ts'
import { agreement, type Agreement } from './fit-stats.ts'

export interface CalibrationPoint {
  id: string
  /** Measured end-to-end latency of one call (the architecture's net median plus its overhead). */
  measuredMs: number
  /** In FEATURES order. */
  features: number[]
}

export interface HeldOutPoint {
  id: string
  measuredMs: number
  /** Predicted by a model fitted without this architecture. */
  predictedMs: number
}

export interface FitReport {
  /** Cross-validated: each architecture predicted by a fit that did not see it. */
  heldOut: Agreement
  /** The bare sum (net medians plus one call overhead) on the same architectures. */
  blockSum: Agreement
  folds: number
  shrinkage: number
}

export interface LatencyModel {
  /** 'fitted' on calibration architectures, or 'block-sum' while there are too few. */
  kind: 'fitted' | 'block-sum'
  features: string[]
  coefficients: number[]
  /** One call's overhead on the space's input (the empty graph), in ms. */
  callOverheadMs: number
  /** Calibration architectures the fit used. */
  n: number
  /** 95% prediction interval as relative errors (from held-out errors); null for 'block-sum'. */
  interval: { low: number; high: number } | null
  report: FitReport | null
  points: HeldOutPoint[]
}

/** Fewer calibration architectures than this: no fit (the bare sum is the model). */
export const MIN_CALIBRATION = 12
const FOLDS = 5
const SHRINKAGE = [1e-4, 1e-3, 1e-2, 1e-1, 1]

/**
 * The `q`-quantile of a fitted model's held-out relative errors (measured / predicted - 1): a
 * prediction times (1 + it) covers about that share of architectures like the calibration set.
 * Null for the bare sum, which has no held-out errors.
 */
export function heldOutErrorQuantile(m: Pick<LatencyModel, 'kind' | 'points'>, q: number): number | null {
  if (m.kind !== 'fitted' || m.points.length === 0) return null
  return quantile(
    m.points.map((p) => p.measuredMs / p.predictedMs - 1),
    q,
  )
}

export function predictLinear(coefficients: readonly number[], features: readonly number[]): number {
  let y = 0
  for (let j = 0; j < coefficients.length; j++) y += coefficients[j] * features[j]
  return y
}

/** Huber's constant for a unit-scale residual (95% efficiency when the errors are normal). */
const HUBER_K = 1.345
/** Reweightings of the robust fit; it settles in a few, the bound keeps a pathological set finite. */
const ROBUST_ITERATIONS = 10

/**
 * Least squares on relative errors shrunk toward `prior`, each column's penalty scaled by its RMS,
 * with each architecture's weight in `weights` (1 for plain least squares).
 */
function solveWeighted(points: readonly CalibrationPoint[], prior: readonly number[], shrinkage: number, weights: readonly number[]): number[] {
  const p = FEATURES.length
  const relative = points.map((pt) => pt.features.map((v) => v / pt.measuredMs))
  const scale = FEATURES.map((_, j) => Math.sqrt(relative.reduce((s, r) => s + r[j] * r[j], 0) / Math.max(1, relative.length)) || 1)
  const rows = relative.map((r, i) => r.map((v) => v * Math.sqrt(weights[i])))
  const targets = weights.map((w) => Math.sqrt(w))
  const lambda = Math.sqrt(shrinkage * points.length)
  for (let j = 0; j < p; j++) {
    const r = new Array<number>(p).fill(0)
    r[j] = lambda * scale[j]
    rows.push(r)
    targets.push(lambda * scale[j] * prior[j])
  }
  return solve(new Matrix(rows), Matrix.columnVector(targets)).to1DArray()
}

/** The shrunk fit under Huber's loss on relative errors, by iteratively reweighted least squares. */
function solveShrunk(points: readonly CalibrationPoint[], prior: readonly number[], shrinkage: number): number[] {
  let weights = points.map(() => 1)
  let beta = solveWeighted(points, prior, shrinkage, weights)
  for (let it = 0; it < ROBUST_ITERATIONS; it++) {
    const residuals = points.map((pt) => Math.abs(predictLinear(beta, pt.features) / pt.measuredMs - 1))
    // The residuals' scale from their median (1.4826: the normal's MAD to sd); a perfect fit has none.
    const cut = HUBER_K * 1.4826 * quantile(residuals, 0.5)
    if (!(cut > 0)) break
    const next = residuals.map((r) => (r <= cut ? 1 : cut / r))
    if (next.every((w, i) => Math.abs(w - weights[i]) < 1e-6)) break
    weights = next
    beta = solveWeighted(points, prior, shrinkage, weights)
  }
  return beta
}

function crossValidate(points: readonly CalibrationPoint[], prior: readonly number[], shrinkage: number, order: readonly number[]): number[] {
  const predicted = new Array<number>(points.length)
  const folds = Math.min(FOLDS, points.length)
  for (let f = 0; f < folds; f++) {
    const test = order.filter((_, i) => i % folds === f)
    const isTest = new Set(test)
    const beta = solveShrunk(points.filter((_, i) => !isTest.has(i)), prior, shrinkage)
    for (const i of test) predicted[i] = predictLinear(beta, points[i].features)
  }
  return predicted
}

export function blockSumModel(callOverheadMs: number, n = 0): LatencyModel {
  return { kind: 'block-sum', features: [...FEATURES], coefficients: sumPrior(callOverheadMs), callOverheadMs, n, interval: null, report: null, points: [] }
}

export function fitLatencyModel(points: readonly CalibrationPoint[], callOverheadMs: number): LatencyModel {
  const usable = points.filter((p) => p.measuredMs > 0 && p.features.every(Number.isFinite))
  if (usable.length < MIN_CALIBRATION) return blockSumModel(callOverheadMs, usable.length)
  const prior = sumPrior(callOverheadMs)
  // A fixed fold order from the ids: the same data always gives the same report.
  const order = createRng(`latency-cv/${usable.length}`).shuffle(usable.map((_, i) => i))
  const measured = usable.map((p) => p.measuredMs)
  let best = { shrinkage: SHRINKAGE[0], predicted: [] as number[], mape: Infinity }
  for (const shrinkage of SHRINKAGE) {
    const predicted = crossValidate(usable, prior, shrinkage, order)
    const { mape } = agreement(predicted, measured)
    if (mape < best.mape) best = { shrinkage, predicted, mape }
  }
  const errors = usable.map((p, i) => p.measuredMs / best.predicted[i] - 1)
  return {
    kind: 'fitted',
    features: [...FEATURES],
    coefficients: solveShrunk(usable, prior, best.shrinkage),
    callOverheadMs,
    n: usable.length,
    interval: { low: quantile(errors, 0.025), high: quantile(errors, 0.975) },
    report: {
      heldOut: agreement(best.predicted, measured),
      blockSum: agreement(
        usable.map((p) => predictLinear(prior, p.features)),
        measured,
      ),
      folds: Math.min(FOLDS, usable.length),
      shrinkage: best.shrinkage,
    },
    points: usable.map((p, i) => ({ id: p.id, measuredMs: p.measuredMs, predictedMs: best.predicted[i] })),
  }
}
