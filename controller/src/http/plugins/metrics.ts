/** GET /metrics: Prometheus text, open like /healthz. */
import type { FastifyPluginAsync } from 'fastify'
import { renderMetrics } from '../../metrics.ts'
import '../context.ts'

export const metricsPlugin: FastifyPluginAsync = async (app) => {
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderMetrics(app.store, app.httpCounter, app.mqtt.connected(), app.mqtt.ingest?.())),
  )
}
