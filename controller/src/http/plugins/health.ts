/** GET /healthz: open, cheap; says whether the store answers and the MQTT session is up. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import '../context.ts'

export const healthPlugin: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness and readiness',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), mqtt: Type.String(), devicesOnline: Type.Integer() }),
          503: Type.Object({ status: Type.Literal('degraded'), mqtt: Type.String(), devicesOnline: Type.Integer() }),
        },
      },
    },
    async (_req, reply) => {
      const devicesOnline = app.store.devices.countOnline()
      if (app.mqtt.connected()) return { status: 'ok' as const, mqtt: 'connected', devicesOnline }
      return reply.code(503).send({ status: 'degraded' as const, mqtt: 'disconnected', devicesOnline })
    },
  )
}
