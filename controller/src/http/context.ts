/** The shared resources every feature plugin reaches through fastify decorators. */
import type { Store } from '../store/db.ts'
import type { Scheduler } from '../campaigns/scheduler.ts'
import type { LatencyModels } from '../latency/service.ts'
import type { ArchitectureRequests } from '../architectures/service.ts'
import type { HttpRequestCounter, IngestFigures } from '../metrics.ts'

export interface MqttStatus {
  /** URL agents connect to. */
  url: string
  connected(): boolean
  /** Username reserved for the controller's own session (devices may not take it). */
  controllerUsername: string
  /** Whether the broker checks device credentials (embedded broker with auth on). */
  deviceAuth: boolean
  /** This process's ingest queue and per-device flood limit, for /metrics. */
  ingest?: () => IngestFigures
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
    scheduler: Scheduler
    latency: LatencyModels
    architectures: ArchitectureRequests
    mqtt: MqttStatus
    httpCounter: HttpRequestCounter
  }
}
