/**
 * The HTTP API (fastify 5 + TypeBox). Shared resources are decorators; each feature is a plugin
 * with its own routes and schemas; every /v1 route sits behind the bearer-token hook; /healthz,
 * /metrics and /docs (OpenAPI) are open.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { Store } from '../store/db.ts'
import type { Scheduler } from '../campaigns/scheduler.ts'
import { HttpRequestCounter } from '../metrics.ts'
import { bearerAuth } from './auth.ts'
import type { MqttStatus } from './context.ts'
import { frameworkErrorHandler, installErrorHandling } from './errors.ts'
import { ErrorSchema } from './schemas.ts'
import { validatorWithoutBodyCoercion } from './validator.ts'
import { devicesPlugin } from './plugins/devices.ts'
import { campaignsPlugin } from './plugins/campaigns.ts'
import { lutsPlugin } from './plugins/luts.ts'
import { latencyPlugin } from './plugins/latency.ts'
import { architecturesPlugin } from './plugins/architectures.ts'
import { ArchitectureRequests } from '../architectures/service.ts'
import { LatencyModels } from '../latency/service.ts'
import { healthPlugin } from './plugins/health.ts'
import { metricsPlugin } from './plugins/metrics.ts'
import { eventsPlugin } from './plugins/events.ts'
import { FleetEvents } from '../events.ts'
import { createDashboard } from '../dashboard/plugin.ts'

export interface HttpServerOptions {
  store: Store
  scheduler: Scheduler
  /** Latency models per LUT; default: one over `store`. */
  latency?: LatencyModels
  /** Architecture requests; default: one without a supernet (requests are refused with a clear error). */
  architectures?: ArchitectureRequests
  /** Device and campaign changes for /v1/events; default: a bus nothing feeds. */
  events?: FleetEvents
  mqtt: MqttStatus
  /** undefined: no token needed (insecure mode). */
  apiToken: string | undefined
  log: Logger
  version?: string
}

export async function buildHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.log,
    logController: new LogController({ disableRequestLogging: true }), // one debug line per request, from onResponse below
    bodyLimit: 8 * 1024 * 1024,
    frameworkErrors: frameworkErrorHandler, // bad URL encoding, overlong path parameters: same error shape
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: validatorWithoutBodyCoercion() } }, // bodies are not coerced: see validator.ts
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('store', opts.store)
  app.decorate('scheduler', opts.scheduler)
  const latency = opts.latency ?? new LatencyModels(opts.store, opts.log)
  app.decorate('latency', latency)
  const events = opts.events ?? new FleetEvents()
  app.decorate('architectures', opts.architectures ?? new ArchitectureRequests({ store: opts.store, scheduler: opts.scheduler, latency, log: opts.log, onChange: (id) => events.architecture(id) }))
  app.decorate('mqtt', opts.mqtt)
  app.decorate('events', events)
  app.decorate('httpCounter', new HttpRequestCounter())
  app.addSchema(ErrorSchema)
  installErrorHandling(app as unknown as FastifyInstance)
  app.addHook('onResponse', async (req, reply) => {
    app.httpCounter.record(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode)
    req.log.debug({ method: req.method, url: req.url, statusCode: reply.statusCode, ms: reply.elapsedTime }, 'request')
  })

  await app.register(swagger, {
    openapi: {
      info: { title: 'fleetnas controller', version: opts.version ?? '0.1.0', description: 'Devices, profiling campaigns and latency lookup tables.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: opts.apiToken ? [{ bearer: [] }] : [],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  await app.register(healthPlugin)
  await app.register(metricsPlugin)
  const dashboard = createDashboard({ apiToken: opts.apiToken })
  await app.register(dashboard.site)
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', bearerAuth(opts.apiToken))
      await v1.register(devicesPlugin)
      await v1.register(campaignsPlugin)
      await v1.register(lutsPlugin)
      await v1.register(latencyPlugin)
      await v1.register(architecturesPlugin)
      await v1.register(eventsPlugin)
      await v1.register(dashboard.api)
    },
    { prefix: '/v1' },
  )
  return app as unknown as FastifyInstance
}
