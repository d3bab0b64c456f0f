/** /v1/campaigns: create, watch and cancel profiling campaigns (the scheduler does the work). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { CampaignInputSchema } from '../../campaigns/input.ts'
import { errorResponses } from '../schemas.ts'
import '../context.ts'

const ExecutionSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  runtime: Type.String(),
  threads: Type.Integer(),
  state: Type.String({ description: 'QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED or CANCELED' }),
  attempts: Type.Integer({ description: 'jobs sent' }),
  retries: Type.Integer(),
  done: Type.Integer({ description: 'targets (blocks and architectures) stored' }),
  total: Type.Integer(),
  reason: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
})

const CampaignSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: Type.String({ description: 'QUEUED, IN_PROGRESS, SUCCEEDED, FAILED or CANCELED' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  blocks: Type.Integer({ description: 'targets per execution: blocks plus architectures' }),
  architectures: Type.Integer({ description: 'of `blocks`, architectures measured whole' }),
  runtimes: Type.Array(Type.String()),
  settings: Type.Record(Type.String(), Type.Number()),
  targets: Type.Object({ devices: Type.Optional(Type.Array(Type.String())), hardwareProfiles: Type.Optional(Type.Array(Type.String())) }),
  executionTimeoutMs: Type.Integer(),
  maxRetries: Type.Integer(),
  progress: Type.Object(
    { total: Type.Integer(), succeeded: Type.Integer(), failed: Type.Integer() },
    { description: 'in blocks: total = keys x executions; succeeded = stored; failed = unstored blocks of failed executions' },
  ),
  executions: Type.Array(ExecutionSchema),
})

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) })

export const campaignsPlugin: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/campaigns',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Create a campaign',
        body: CampaignInputSchema,
        response: { 201: Type.Object({ id: Type.String() }), ...errorResponses(400, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(app.scheduler.createCampaign(req.body)),
  )

  app.get('/campaigns', { schema: { tags: ['campaigns'], summary: 'List campaigns', response: { 200: Type.Array(CampaignSchema) } } }, async () =>
    app.scheduler.list(),
  )

  app.get(
    '/campaigns/:id',
    { schema: { tags: ['campaigns'], summary: 'One campaign with its executions', params: IdParams, response: { 200: CampaignSchema, ...errorResponses(404) } } },
    async (req) => app.scheduler.view(req.params.id),
  )

  app.post(
    '/campaigns/:id/cancel',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Cancel a campaign: its devices are told to stop, unfinished executions become CANCELED',
        params: IdParams,
        response: { 200: CampaignSchema, ...errorResponses(404, 409) },
      },
    },
    async (req) => app.scheduler.cancelCampaign(req.params.id),
  )
}
