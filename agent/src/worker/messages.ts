/**
 * IPC between the agent daemon and its measurement worker (a child process started with
 * child_process.fork; JSON over the IPC channel, delivered in order). One worker serves one
 * request, then exits.
 *
 *   daemon -> worker
 *     measure   a job: the job message, keys to skip, effective settings, window, hardware profile
 *     cancel    stop between runs (the daemon SIGKILLs the worker after a grace period)
 *     probe     describe the runtimes that load here (and the hardware inventory when asked)
 *   worker -> daemon
 *     measurement  one finished measurement, in order
 *     progress     targets done / total of this run (after each window)
 *     done         the loop finished (MeasureLoopResult)
 *     failed       the loop threw: error code (when a FleetnasError) and message
 *     probed       runtimes (and inventory) from `probe`
 */
import type { Inventory, JobMessage, Measurement, MeasureSettings, RuntimeInfo } from '@fleetnas/shared'
import type { MeasureLoopResult } from '../measure.ts'
import type { HardwareProfile } from '../profiles.ts'

export interface MeasureRequest {
  job: JobMessage
  /** Keys already measured (resumed job, retry after a worker crash) or skipped by the controller. */
  skip: string[]
  /** The job's settings raised to the profile's warm-up minimums. */
  settings: MeasureSettings
  /** Blocks prepared at a time. */
  window?: number
  /** Where the environment sensors are (temperature, frequency, throttle). */
  profile: HardwareProfile
}

export type DaemonToWorker =
  | ({ type: 'measure' } & MeasureRequest)
  | { type: 'cancel'; reason: string }
  | { type: 'probe'; inventory: boolean }

export interface ProbeResult {
  runtimes: RuntimeInfo[]
  inventory?: Inventory
  /** Runtimes that failed to load, with why (logged by the daemon). */
  problems: string[]
}

export type WorkerToDaemon =
  | { type: 'measurement'; measurement: Measurement }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; result: MeasureLoopResult }
  | { type: 'failed'; code?: string; message: string }
  | ({ type: 'probed' } & ProbeResult)
