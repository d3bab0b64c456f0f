/**
 * Runs jobs one at a time; further jobs queue. States follow the protocol:
 *   ACCEPTED -> IN_PROGRESS (progress {done,total}, at most ~1/s) -> SUCCEEDED | FAILED | CANCELED,
 *   REJECTED for a job the agent cannot run (unknown runtime, bad block key or architecture id).
 * A job whose id the agent already knows is re-acknowledged (its state resent), never re-measured.
 * Unfinished jobs are persisted and resumed after a restart, skipping keys already measured.
 * Measuring happens in a worker process (worker/): when it dies unexpectedly the job goes on once in
 * a fresh worker with what is still missing, then FAILS with the reason; the daemon stays up.
 */
import {
  isFleetnasError,
  PROTOCOL_VERSION,
  type AgentJobState,
  type CancelMessage,
  type JobCommand,
  type JobMessage,
  type JobStateMessage,
  type Measurement,
  type MeasureSettings,
  type ResultsMessage,
} from '@fleetnas/shared'
import { MeasureCanceled, WorkerDied } from './errors.ts'
import { jobProblems, jobTargets } from './job-targets.ts'
import { TERMINAL_STATES, type JobStore } from './job-store.ts'
import type { Logger } from './logger.ts'
import type { MeasureLoopResult } from './measure.ts'
import type { Outbox } from './outbox.ts'
import type { HardwareProfile } from './profiles.ts'
import { ResultsBatcher } from './results-batcher.ts'
import type { MeasureRequest } from './worker/messages.ts'
import { measureInWorker, type MeasureCallbacks } from './worker/worker-process.ts'

export { jobProblems, jobTargets } from './job-targets.ts'

export interface JobTransport {
  publishState(message: JobStateMessage): void
  publishResults(message: ResultsMessage): void
}

/** Runs one measurement request somewhere (by default in a fresh worker process). */
export type MeasureExecutor = (request: MeasureRequest, cb: MeasureCallbacks, signal: AbortSignal) => Promise<MeasureLoopResult>

export interface JobManagerOptions {
  deviceId: string
  store: JobStore
  outbox: Outbox
  transport: JobTransport
  profile: HardwareProfile
  logger: Logger
  /** Why this device cannot run a job's runtime (checked on arrival: REJECTED), or undefined. */
  runtimeProblem?: (job: JobMessage) => string | undefined
  /** Where measuring happens; default `measureInWorker`. */
  measure?: MeasureExecutor
  /** Fresh workers a job may use after one died unexpectedly (default 1: one retry). */
  workerRetries?: number
  /** Blocks prepared at a time in the measurement loop. */
  window?: number
  batch?: { maxBatch?: number; maxDelayMs?: number }
  progressIntervalMs?: number
  onState?: (message: JobStateMessage) => void
  onMeasurement?: (m: Measurement) => void
}

interface Running {
  job: JobMessage
  abort: AbortController
  progress: { done: number; total: number }
  done: Promise<void>
}

export class JobManager {
  private readonly queue: JobMessage[] = []
  private current: Running | undefined
  private stopping = false
  private pump: Promise<void> = Promise.resolve()

  constructor(private readonly o: JobManagerOptions) {}

  private commands: Promise<void> = Promise.resolve()

  /** One entry for every inbound command on the jobs topic; handled one by one in arrival order. */
  handleCommand(cmd: JobCommand): Promise<void> {
    const next = this.commands.then(() => (cmd.type === 'cancel' ? this.cancel(cmd) : this.submit(cmd)))
    this.commands = next.catch((e) => this.o.logger.error({ err: e, jobId: cmd.jobId }, 'job command failed'))
    return next
  }

  /** Queues persisted unfinished jobs (after a restart). */
  resumeUnfinished(): void {
    for (const rec of this.o.store.unfinished()) {
      if (!rec.job || this.isKnownLive(rec.jobId)) continue
      this.o.logger.info({ jobId: rec.jobId, state: rec.state }, 'resuming job after restart')
      this.queue.push(rec.job)
    }
    this.schedule()
  }

  get currentJobId(): string | undefined {
    return this.current?.job.jobId
  }

  get queuedJobIds(): string[] {
    return this.queue.map((j) => j.jobId)
  }

  /** Stops the running job without finishing it (it stays resumable) and runs nothing more. */
  async stop(): Promise<void> {
    this.stopping = true
    this.queue.length = 0
    this.current?.abort.abort('agent stopping')
    await this.current?.done
    await this.pump
  }

  /** Resolves when nothing runs and nothing is queued. */
  async idle(): Promise<void> {
    while (this.current || this.queue.length > 0) await (this.current?.done ?? this.pump)
  }

  private isKnownLive(jobId: string): boolean {
    return this.current?.job.jobId === jobId || this.queue.some((j) => j.jobId === jobId)
  }

  private async submit(job: JobMessage): Promise<void> {
    const known = this.o.store.get(job.jobId)
    if (known) {
      // Redelivery or a controller retry: say where the job stands, do not measure again.
      if (this.current?.job.jobId === job.jobId) this.sendState(job.jobId, 'IN_PROGRESS', { progress: this.current.progress })
      else this.sendState(job.jobId, known.state, { reason: known.reason })
      return
    }
    const problem = jobProblems(job) ?? (await this.runtimeProblem(job))
    if (problem) {
      await this.o.store.setState(job.jobId, 'REJECTED', { job, reason: problem })
      this.sendState(job.jobId, 'REJECTED', { reason: problem })
      return
    }
    await this.o.store.setState(job.jobId, 'ACCEPTED', { job })
    this.sendState(job.jobId, 'ACCEPTED')
    this.queue.push(job)
    this.schedule()
  }

  private async runtimeProblem(job: JobMessage): Promise<string | undefined> {
    return this.o.runtimeProblem?.(job)
  }

  private async cancel(cmd: CancelMessage): Promise<void> {
    const { jobId } = cmd
    if (this.current?.job.jobId === jobId) {
      this.current.abort.abort('canceled by the controller')
      return
    }
    const queued = this.queue.findIndex((j) => j.jobId === jobId)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      await this.o.store.setState(jobId, 'CANCELED', { reason: 'canceled before it started' })
      this.sendState(jobId, 'CANCELED', { reason: 'canceled before it started' })
      return
    }
    const known = this.o.store.get(jobId)
    if (known && TERMINAL_STATES.has(known.state)) {
      this.sendState(jobId, known.state, { reason: known.reason })
      return
    }
    // Unknown job: remember the cancel so a late job message with this id is not run.
    await this.o.store.setState(jobId, 'CANCELED', { reason: 'canceled before it arrived' })
    this.sendState(jobId, 'CANCELED', { reason: 'canceled before it arrived' })
  }

  private schedule(): void {
    this.pump = this.pump.then(async () => {
      while (!this.stopping && !this.current && this.queue.length > 0) {
        const job = this.queue.shift()!
        const abort = new AbortController()
        let finish!: () => void
        const running: Running = { job, abort, progress: { done: 0, total: 0 }, done: new Promise((r) => (finish = r)) }
        this.current = running
        try {
          await this.run(running)
        } finally {
          this.current = undefined
          finish()
        }
      }
    })
  }

  private effectiveSettings(job: JobMessage): MeasureSettings {
    const p = this.o.profile.measure
    return { ...job.settings, warmupRuns: Math.max(job.settings.warmupRuns, p.warmupRuns), warmupMs: Math.max(job.settings.warmupMs, p.warmupMs) }
  }

  private async run(running: Running): Promise<void> {
    const { job, abort } = running
    const { store, outbox, logger } = this.o
    const batcher = new ResultsBatcher({
      deviceId: this.o.deviceId,
      jobId: job.jobId,
      outbox,
      store,
      publish: (m) => this.o.transport.publishResults(m),
      ...this.o.batch,
      onError: (e) => logger.error({ err: e, jobId: job.jobId }, 'cannot write results to the outbox'),
    })
    const interval = this.o.progressIntervalMs ?? 1000
    const measure = this.o.measure ?? ((req, cb, signal) => measureInWorker(req, cb, signal))
    let lastProgress = 0
    try {
      await store.setState(job.jobId, 'IN_PROGRESS')
      let result: MeasureLoopResult | undefined
      for (let attempt = 0; result === undefined; attempt++) {
        // What is on disk already (resumed job, or what a crashed worker sent) is not measured again.
        const skip = new Set([...(job.skip ?? []), ...store.measuredKeys(job.jobId), ...outbox.pendingKeys(job.jobId)])
        const { targets, total } = jobTargets(job, skip)
        running.progress = { done: total - targets.length, total }
        if (attempt === 0) {
          this.sendState(job.jobId, 'IN_PROGRESS', { progress: running.progress })
          lastProgress = Date.now()
        }
        const base = running.progress.done
        try {
          result = await measure(
            { job, skip: [...skip], settings: this.effectiveSettings(job), window: this.o.window, profile: this.o.profile },
            {
              onMeasurement: (m) => {
                batcher.add(m)
                this.o.onMeasurement?.(m)
              },
              onProgress: (done) => {
                running.progress = { done: base + done, total }
                if (Date.now() - lastProgress >= interval) {
                  lastProgress = Date.now()
                  this.sendState(job.jobId, 'IN_PROGRESS', { progress: running.progress })
                }
              },
            },
            abort.signal,
          )
        } catch (e) {
          if (!isFleetnasError(e, WorkerDied.code) || abort.signal.aborted || attempt >= (this.o.workerRetries ?? 1)) throw e
          logger.warn({ jobId: job.jobId, err: e.message, attempt: attempt + 1 }, 'measurement worker died; going on in a fresh one')
          await batcher.flush()
        }
      }
      await batcher.flush()
      await store.setState(job.jobId, 'SUCCEEDED')
      this.sendState(job.jobId, 'SUCCEEDED', { progress: running.progress })
      logger.info({ jobId: job.jobId, ...result }, 'job finished')
    } catch (e) {
      const flushed = await batcher.flush().then(() => true, () => false)
      if (isFleetnasError(e, MeasureCanceled.code) && this.stopping) {
        logger.info({ jobId: job.jobId }, 'job interrupted by shutdown; it resumes on restart')
        return
      }
      const [state, reason]: [AgentJobState, string] = isFleetnasError(e, MeasureCanceled.code)
        ? ['CANCELED', 'canceled by the controller']
        : ['FAILED', `${(e as Error).message}${flushed ? '' : ' (some results could not be saved)'}`]
      if (state === 'FAILED') logger.error({ err: e, jobId: job.jobId }, 'job failed')
      await store.setState(job.jobId, state, { reason })
      this.sendState(job.jobId, state, { reason, progress: running.progress })
    }
  }

  private sendState(jobId: string, state: AgentJobState, extra: { reason?: string; progress?: { done: number; total: number } } = {}): void {
    const message: JobStateMessage = { v: PROTOCOL_VERSION, deviceId: this.o.deviceId, jobId, state, time: new Date().toISOString() }
    if (extra.progress) message.progress = { ...extra.progress }
    if (extra.reason) message.reason = extra.reason.slice(0, 2000)
    this.o.transport.publishState(message)
    this.o.onState?.(message)
  }
}
