/**
 * /v1/luts/:hardwareProfile/model and /predict: the LUT's latency model (fit report, held-out
 * points) and end-to-end predictions for architectures, with the blocks the LUT lacks named.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { RuntimeSchema } from '@fleetnas/shared'
import { errorResponses } from '../schemas.ts'
import '../context.ts'

const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()])

const AgreementSchema = Type.Object({
  n: Type.Integer(),
  within5: Type.Number({ description: 'share of architectures predicted within +-5%' }),
  within10: Type.Number({ description: 'share within +-10%' }),
  mape: Type.Number({ description: 'mean absolute percentage error, as a fraction' }),
  medianError: Type.Number({ description: 'median of predicted / measured - 1 (> 0 over-predicts)' }),
  rmseMs: Type.Number(),
  kendallTau: Type.Number({ description: 'rank agreement of predicted and measured (tau-b)' }),
})

const ModelSchema = Type.Object({
  hardwareProfile: Type.String(),
  runtime: Type.String(),
  threads: Type.Integer(),
  backend: Type.String(),
  fittedAt: Type.String(),
  dataStamp: Type.String({ description: 'the LUT rows the model was fitted on (it is refitted when they change)' }),
  model: Type.Object({
    kind: Type.String({ description: "'fitted' on the LUT's whole-architecture measurements, or 'block-sum' while there are too few" }),
    features: Type.Array(Type.String()),
    coefficients: Type.Array(Type.Number()),
    callOverheadMs: Type.Number({ description: 'one call of the empty graph on the space input' }),
    n: Type.Integer({ description: 'calibration architectures used' }),
    interval: Type.Union([Type.Object({ low: Type.Number(), high: Type.Number() }), Type.Null()], {
      description: '95% prediction interval as relative errors, from held-out errors',
    }),
    report: Type.Union([
      Type.Object({
        heldOut: AgreementSchema,
        blockSum: AgreementSchema,
        folds: Type.Integer(),
        shrinkage: Type.Number(),
      }),
      Type.Null(),
    ]),
    points: Type.Array(
      Type.Object({ id: Type.String(), measuredMs: Type.Number(), predictedMs: Type.Number({ description: 'by a fit that did not see this architecture' }) }),
    ),
  }),
})

const PredictionSchema = Type.Object({
  id: Type.String(),
  predictedMs: Nullable(Type.Number({ description: 'end-to-end latency of one call; null when blocks are missing' })),
  lowMs: Nullable(Type.Number()),
  highMs: Nullable(Type.Number()),
  blockSumMs: Nullable(Type.Number({ description: "sum of the blocks' net medians" })),
  callOverheadMs: Type.Number(),
  model: Type.String(),
  blocks: Type.Array(Type.String()),
  missing: Type.Array(Type.String(), { description: 'block keys the LUT lacks: profile them, no guess is made' }),
  belowOverhead: Type.Array(Type.String(), { description: 'blocks faster than the call overhead resolves (counted as 0 ms)' }),
  measuredMs: Nullable(Type.Number({ description: 'this LUT measured the architecture whole' })),
})

const Params = Type.Object({ hardwareProfile: Type.String({ maxLength: 200 }) })
const Threads = Type.Integer({ minimum: 1, maximum: 256 })

export const latencyPlugin: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/luts/:hardwareProfile/model',
    {
      schema: {
        tags: ['latency'],
        summary: "The LUT's latency model and its fit report (refitted first when the LUT changed)",
        params: Params,
        querystring: Type.Object({ runtime: Type.Optional(RuntimeSchema), threads: Type.Optional(Threads) }),
        response: { 200: ModelSchema, ...errorResponses(400, 404) },
      },
    },
    async (req) => app.latency.model(req.params.hardwareProfile, req.query.runtime ?? 'onnxruntime', req.query.threads ?? 1),
  )

  app.post(
    '/luts/:hardwareProfile/predict',
    {
      schema: {
        tags: ['latency'],
        summary: 'Predicted end-to-end latency of architectures on this LUT, with an interval and the blocks it lacks',
        params: Params,
        body: Type.Object(
          {
            runtime: Type.Optional(RuntimeSchema),
            threads: Type.Optional(Threads),
            architectures: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 10000 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            hardwareProfile: Type.String(),
            runtime: Type.String(),
            threads: Type.Integer(),
            model: Type.Object({ kind: Type.String(), n: Type.Integer(), fittedAt: Type.String() }),
            predictions: Type.Array(PredictionSchema),
          }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (req) => {
      const runtime = req.body.runtime ?? 'onnxruntime'
      const threads = req.body.threads ?? 1
      const { model, predictions } = app.latency.predict(req.params.hardwareProfile, runtime, threads, req.body.architectures)
      return { hardwareProfile: req.params.hardwareProfile, runtime, threads, model: { kind: model.model.kind, n: model.model.n, fittedAt: model.fittedAt }, predictions }
    },
  )
}
