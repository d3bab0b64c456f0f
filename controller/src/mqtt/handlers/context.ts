/** What every MQTT handler gets: the store, the ingest queue, the scheduler's event entry points, a publisher, a logger. */
import type { Logger } from 'pino'
import type { Store } from '../../store/db.ts'
import type { LutScope } from '../../store/luts.ts'
import type { Publisher } from '../client.ts'
import type { JobStateMessage } from '@fleetnas/shared'
import type { QueuedBatch } from '../ingest-queue.ts'

export interface SchedulerEvents {
  onDeviceOnline(deviceId: string): void
  /**
   * True for a job state of this device's job that needs no write (see PROGRESS_REFRESH_MS): an
   * IN_PROGRESS whose job's progress was stored moments ago, or late news about a job that ended
   * moments ago. The scheduler notes it in memory.
   */
  isRoutineJobState(deviceId: string, msg: JobStateMessage): boolean
  /** Returns false when the job is unknown or not this device's. */
  onJobState(deviceId: string, msg: JobStateMessage): boolean
  onResultsStored(executionId: string): void
}

/** Told which LUTs gained whole-architecture measurements (their latency model is refitted). */
export interface LatencyEvents {
  scheduleRefit(scope: LutScope): void
}

/** Where checked result batches go to be stored and acked. */
export interface IngestSink {
  enqueue(batch: QueuedBatch): void
}

export interface HandlerContext {
  store: Store
  ingest: IngestSink
  scheduler: SchedulerEvents
  latency?: LatencyEvents
  publisher: Publisher
  log: Logger
  now(): string
}
