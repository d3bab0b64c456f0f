/**
 * Accuracy predictor: fitted on (architecture, measured few-shot accuracy) pairs (few-shot
 * evaluations of supernet sub-networks), it ranks thousands of candidates per second so the search
 * need not adapt each one (Once-for-All fits a small MLP on 1-4k such pairs). Ours is kernel ridge
 * regression (kernel-ridge.ts: a Gaussian-process mean that falls back to the pairs' mean far from
 * them) on `architecture-encoding.ts`, bandwidth and penalty chosen by cross-validation; linear
 * ridge is kept as an option. With the few dozen supernet evaluations a request can afford, the
 * linear model extrapolated: on a 2,000-iteration Omniglot supernet it predicted 95-106% for
 * stacks of wide mbconv blocks (measured 62-65%) and 53% for Conv4 (measured about 90%), and the
 * search went where it was most wrong. The report's figures are held-out (each pair predicted by a
 * fit that did not see it). It serialises to plain JSON, tied to its space and feature list, so a
 * file fitted on another space or encoding is refused rather than misread.
 *
 * Why not an MLP: on the synthetic targets of the tests (pairs with 1 point of noise, scored on
 * 1,000 new architectures), a one-hidden-layer MLP in TypeScript (64-128 units, Adam, 100-300
 * epochs) ranked worse from 500 pairs (tau 0.72-0.78 against ridge's 0.88 on the peaked target)
 * and about the same from 2,000 (0.86-0.91 against 0.89), fitting in 5-35 s against ridge's
 * under 1 s. To revisit on real supernet evaluations.
 */
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { checkArchitecture, createRng, DEFAULT_SPACE, SearchSpaceSchema, type Architecture, type SearchSpace } from '@fleetnas/shared'
import { kendallTau } from '../../latency/fit-stats.ts'
import { architectureEncoding, type ArchitectureEncoding } from './architecture-encoding.ts'
import { PredictorDataInvalid, PredictorInvalid } from './errors.ts'
import { fitRidge, predictLinearModel, selectRidge, type LinearModel } from './ridge.ts'
import { fitKernelRidge, predictKernelRidge, selectKernelRidge, type KernelRidgeModel } from './kernel-ridge.ts'

export type PredictorKind = 'kernel-ridge' | 'ridge'

export interface AccuracySample {
  architecture: Architecture
  /** Measured mean query accuracy after adaptation, in [0, 1]. */
  accuracy: number
}

const ReportSchema = Type.Object({
  /** Pairs the final fit used. */
  n: Type.Integer({ minimum: 1 }),
  folds: Type.Integer({ minimum: 2 }),
  lambda: Type.Number({ minimum: 0 }),
  /** kernel-ridge: the kernel's bandwidth as a multiple of the median squared distance between pairs. */
  bandwidth: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  heldOut: Type.Object({
    /** Kendall's tau-b between held-out predictions and measured accuracies: what a search relies on. */
    kendallTau: Type.Number(),
    rmse: Type.Number({ minimum: 0 }),
    mae: Type.Number({ minimum: 0 }),
  }),
})
export type PredictorReport = Static<typeof ReportSchema>

const Common = {
  format: Type.Literal('fleetnas-accuracy-predictor'),
  version: Type.Literal(1),
  space: SearchSpaceSchema,
  features: Type.Array(Type.String()),
  report: ReportSchema,
}
export const AccuracyPredictorJsonSchema = Type.Union([
  Type.Object({ ...Common, kind: Type.Literal('ridge'), coefficients: Type.Array(Type.Number()), intercept: Type.Number() }),
  Type.Object({
    ...Common,
    kind: Type.Literal('kernel-ridge'),
    mean: Type.Array(Type.Number()),
    scale: Type.Array(Type.Number()),
    rows: Type.Array(Type.Array(Type.Number())),
    alpha: Type.Array(Type.Number()),
    yMean: Type.Number(),
    gamma: Type.Number({ exclusiveMinimum: 0 }),
  }),
])
export type AccuracyPredictorJson = Static<typeof AccuracyPredictorJsonSchema>

export interface AccuracyPredictor {
  readonly kind: PredictorKind
  readonly space: SearchSpace
  readonly report: PredictorReport
  /** Predicted accuracy per architecture (the search's `accuracy` function). */
  predict(archs: readonly Architecture[]): number[]
  toJSON(): AccuracyPredictorJson
}

export interface FitPredictorOptions {
  space?: SearchSpace
  /** Seeds the cross-validation folds. */
  seed?: number | string
  folds?: number
  /** Default kernel-ridge. */
  kind?: PredictorKind
  /** ridge only. */
  lambdas?: readonly number[]
}

/** Fewer pairs than this: no fit. */
export const MIN_SAMPLES = 10
const LAMBDAS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]

export function fitAccuracyPredictor(samples: readonly AccuracySample[], options: FitPredictorOptions = {}): AccuracyPredictor {
  const space = options.space ?? DEFAULT_SPACE
  if (samples.length < MIN_SAMPLES) throw PredictorDataInvalid(`${samples.length} pairs, need at least ${MIN_SAMPLES}`)
  const problems: string[] = []
  samples.forEach((s, i) => {
    if (!Number.isFinite(s.accuracy)) problems.push(`pair ${i}: accuracy ${s.accuracy}`)
    try {
      checkArchitecture(s.architecture, space)
    } catch (e) {
      problems.push(`pair ${i}: ${(e as Error).message}`)
    }
  })
  if (problems.length > 0) throw PredictorDataInvalid(problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : ''))
  const encoding = architectureEncoding(space)
  const rows = samples.map((s) => encoding.encode(s.architecture))
  const y = samples.map((s) => s.accuracy)
  const folds = Math.min(options.folds ?? 5, samples.length)
  const rng = createRng(options.seed ?? 'accuracy-predictor')
  const kind = options.kind ?? 'kernel-ridge'
  let chosen: { lambda: number; bandwidth?: number; heldOut: number[] }
  let model: Model
  if (kind === 'ridge') {
    chosen = selectRidge(rows, y, options.lambdas ?? LAMBDAS, folds, rng)
    model = { kind, linear: fitRidge(rows, y, chosen.lambda) }
  } else {
    chosen = selectKernelRidge(rows, y, folds, rng)
    model = { kind, kernel: fitKernelRidge(rows, y, { bandwidth: chosen.bandwidth!, lambda: chosen.lambda }) }
  }
  const heldOut = chosen.heldOut
  const errors = heldOut.map((p, i) => p - y[i])
  const report: PredictorReport = {
    n: samples.length,
    folds,
    lambda: chosen.lambda,
    ...(chosen.bandwidth !== undefined && { bandwidth: chosen.bandwidth }),
    heldOut: {
      kendallTau: kendallTau(heldOut, y),
      rmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length),
      mae: errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length,
    },
  }
  return makePredictor(encoding, model, report)
}

type Model = { kind: 'ridge'; linear: LinearModel } | { kind: 'kernel-ridge'; kernel: KernelRidgeModel }

export function accuracyPredictorFromJson(json: unknown): AccuracyPredictor {
  if (!Value.Check(AccuracyPredictorJsonSchema, json)) {
    const bad = Value.Errors(AccuracyPredictorJsonSchema, json).First()
    throw PredictorInvalid(bad ? `${bad.path || '(root)'}: ${bad.message}` : 'schema mismatch')
  }
  const encoding = architectureEncoding(json.space)
  if (json.features.join() !== encoding.names.join()) throw PredictorInvalid('its features are not this version’s encoding of its space')
  const p = json.features.length
  if (json.kind === 'ridge') {
    if (json.coefficients.length !== p) throw PredictorInvalid(`${json.coefficients.length} coefficients for ${p} features`)
    return makePredictor(encoding, { kind: 'ridge', linear: { coefficients: json.coefficients, intercept: json.intercept } }, json.report)
  }
  const n = json.rows.length
  if (json.mean.length !== p || json.scale.length !== p || json.rows.some((r) => r.length !== p) || json.alpha.length !== n)
    throw PredictorInvalid(`kernel-ridge arrays do not match ${p} features and ${n} rows`)
  const { mean, scale, rows, alpha, yMean, gamma } = json
  return makePredictor(encoding, { kind: 'kernel-ridge', kernel: { mean, scale, rows, alpha, yMean, gamma } }, json.report)
}

function makePredictor(encoding: ArchitectureEncoding, model: Model, report: PredictorReport): AccuracyPredictor {
  const common = { format: 'fleetnas-accuracy-predictor' as const, version: 1 as const, space: encoding.space, features: [...encoding.names], report }
  return {
    kind: model.kind,
    space: encoding.space,
    report,
    predict: (archs) =>
      archs.map((a) => (model.kind === 'ridge' ? predictLinearModel(model.linear, encoding.encode(a)) : predictKernelRidge(model.kernel, encoding.encode(a)))),
    toJSON: () => (model.kind === 'ridge' ? { ...common, kind: 'ridge', coefficients: [...model.linear.coefficients], intercept: model.linear.intercept } : { ...common, kind: 'kernel-ridge', ...model.kernel }),
  }
}
