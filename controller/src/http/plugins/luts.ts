/** /v1/luts: latency lookup tables per (hardware profile, runtime, threads), as JSON or CSV. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BlockSpecSchema, RuntimeSchema } from '@fleetnas/shared'
import { LutNotFound } from '../../errors.ts'
import { entryView, lutCsv } from '../../luts/view.ts'
import { errorResponses } from '../schemas.ts'
import type { LutKind } from '../../store/luts.ts'
import '../context.ts'

const SummarySchema = Type.Object({
  hardwareProfile: Type.String(),
  runtime: Type.String(),
  threads: Type.Integer(),
  backends: Type.Array(Type.String()),
  entries: Type.Integer({ description: 'block keys in the LUT' }),
  architectures: Type.Integer({ description: 'architectures measured whole (what its latency model is fitted on)' }),
  devices: Type.Integer({ description: 'devices that contributed' }),
  updatedAt: Type.String(),
})

const EntrySchema = Type.Object({
  key: Type.String(),
  kind: Type.String({ description: "'block', 'empty' (one call's overhead on an input shape) or 'architecture' (measured whole)" }),
  backend: Type.String({ description: 'onnxruntime execution provider or tfjs backend' }),
  block: Type.Union([BlockSpecSchema, Type.Null()]),
  medianMs: Type.Number({ description: 'median of the device medians, net of the call overhead' }),
  ciLowMs: Type.Union([Type.Number(), Type.Null()], { description: '95% bootstrap interval of medianMs (null from agents that do not report one)' }),
  ciHighMs: Type.Union([Type.Number(), Type.Null()]),
  overheadMs: Type.Union([Type.Number(), Type.Null()], { description: 'call overhead (empty graph of the input shape) subtracted' }),
  belowOverhead: Type.Boolean({ description: 'the block is faster than the call overhead resolves: medianMs is not a latency' }),
  p10Ms: Type.Number(),
  p90Ms: Type.Number(),
  cv: Type.Number(),
  samples: Type.Integer(),
  devices: Type.Integer(),
  spreadMs: Type.Number({ description: 'max - min of the device medians' }),
  noisy: Type.Boolean(),
  updatedAt: Type.String(),
})

export const lutsPlugin: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/luts', { schema: { tags: ['luts'], summary: 'List LUTs', response: { 200: Type.Array(SummarySchema) } } }, async () =>
    app.store.luts.summaries(),
  )

  app.get(
    '/luts/:hardwareProfile',
    {
      schema: {
        tags: ['luts'],
        summary: 'One LUT; format=csv for text/csv',
        params: Type.Object({ hardwareProfile: Type.String({ maxLength: 200 }) }),
        querystring: Type.Object({
          runtime: Type.Optional(RuntimeSchema),
          threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
          backend: Type.Optional(Type.String({ maxLength: 64 })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
        }),
        response: {
          200: Type.Object({
            hardwareProfile: Type.String(),
            runtime: Type.String(),
            threads: Type.Integer(),
            entries: Type.Array(EntrySchema),
            overheads: Type.Array(EntrySchema, { description: "one call's overhead per input shape (the empty graph)" }),
            architectures: Type.Array(EntrySchema, { description: 'architectures measured whole' }),
          }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (req, reply) => {
      const { hardwareProfile } = req.params
      const runtime = req.query.runtime ?? 'onnxruntime'
      const threads = req.query.threads ?? 1
      const of = (kind: LutKind) => {
        const rows = app.store.luts.entries(hardwareProfile, runtime, threads, kind)
        return req.query.backend === undefined ? rows : rows.filter((r) => r.backend === req.query.backend)
      }
      const rows = of('block')
      const architectures = of('architecture')
      if (rows.length === 0 && architectures.length === 0) throw LutNotFound(hardwareProfile, runtime, threads)
      if (req.query.format === 'csv') {
        const name = `lut-${hardwareProfile}-${runtime}-t${threads}.csv`
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(lutCsv(rows) as never)
      }
      return {
        hardwareProfile,
        runtime,
        threads,
        entries: rows.map(entryView),
        overheads: of('empty').map(entryView),
        architectures: architectures.map(entryView),
      }
    },
  )
}
