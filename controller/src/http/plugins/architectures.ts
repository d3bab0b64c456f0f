/**
 * /v1/architectures: request the most accurate few-shot architecture within a latency (and size)
 * budget on a device class; follow it; download the chosen model as ONNX.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ArchitectureRequestInputSchema } from '../../architectures/input.ts'
import { errorResponses } from '../schemas.ts'
import '../context.ts'

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) })
const Json = Type.Unknown()

const RequestSchema = Type.Object({
  id: Type.String(),
  state: Type.String({ description: 'QUEUED, SEARCHING, PROFILING, FINETUNING, VERIFYING, SUCCEEDED, FAILED or CANCELED' }),
  request: Json,
  progress: Json,
  result: Json,
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
})

export const architecturesPlugin: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/architectures',
    {
      schema: {
        tags: ['architectures'],
        summary: 'Request an architecture: searched against the LUT, accuracy from the supernet; 202 with its id',
        body: ArchitectureRequestInputSchema,
        response: { 202: Type.Object({ id: Type.String() }), ...errorResponses(400, 404, 409) },
      },
    },
    async (req, reply) => reply.code(202).send(app.architectures.create(req.body)),
  )

  app.get('/architectures', { schema: { tags: ['architectures'], summary: 'List architecture requests', response: { 200: Type.Array(RequestSchema) } } }, async () =>
    app.architectures.list(),
  )

  app.get(
    '/architectures/:id',
    {
      schema: {
        tags: ['architectures'],
        summary: 'One request: state, progress, and once SUCCEEDED the architecture, its latency and accuracy, the Pareto front',
        params: IdParams,
        response: { 200: RequestSchema, ...errorResponses(404) },
      },
    },
    async (req) => app.architectures.view(req.params.id),
  )

  app.post(
    '/architectures/:id/cancel',
    {
      schema: {
        tags: ['architectures'],
        summary: 'Cancel a request: a queued one never runs, a running one stops at its next step (with the campaign it waits on)',
        params: IdParams,
        response: { 200: RequestSchema, ...errorResponses(404, 409) },
      },
    },
    async (req) => app.architectures.cancel(req.params.id),
  )

  for (const [file, kind, summary] of [
    ['model.onnx', 'onnx', 'The chosen sub-network with its meta-trained (or fine-tuned) weights, as an ONNX model (batch x classes logits; zero head until adapted)'],
    ['checkpoint', 'checkpoint', 'The chosen sub-network as a MAML checkpoint, for fleetnas adapt and meta-eval'],
  ] as const) {
    app.get(
      `/architectures/:id/${file}`,
      { schema: { tags: ['architectures'], summary, params: IdParams, response: { ...errorResponses(404, 409, 410) } } },
      async (req, reply) => {
        const m = await app.architectures.artifact(req.params.id, kind)
        const name = `${m.architectureId}-${m.way}way${m.finetuned ? '-finetuned' : ''}.${kind === 'onnx' ? 'onnx' : 'ckpt'}`
        return reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="${name}"`)
          .header('x-fleetnas-weights', m.finetuned ? 'finetuned' : 'inherited')
          .send(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength))
      },
    )
  }
}
