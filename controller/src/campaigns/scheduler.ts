/**
 * The campaign scheduler. A campaign has one execution per (device, runtime, threads); an execution
 * is carried out by jobs (jobId `${executionId}-a${attempt}`) sent to its device. A device works on
 * one execution at a time (oldest campaign first) so two jobs never compete for its cores.
 *
 * States follow AWS IoT Jobs: an execution is QUEUED until the agent reports progress, then
 * IN_PROGRESS; SUCCEEDED once every block key is stored; after a timeout (no progress for
 * executionTimeoutMs while the device is online) or a FAILED report it is retried with a new job
 * that skips the stored keys, up to maxRetries, then ends TIMED_OUT or FAILED; REJECTED by the
 * agent is final; CANCELED by the user. A device coming back online gets its current job again.
 * Everything lives in SQLite, so `start()` after a restart just re-evaluates.
 */
import crypto from 'node:crypto'
import {
  DEFAULT_MEASURE_SETTINGS,
  encodeMessage,
  MAX_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  topics,
  type JobMessage,
  type JobStateMessage,
} from '@fleetnas/shared'
import type { Logger } from 'pino'
import type { Store } from '../store/db.ts'
import { FAILED_STATES, TERMINAL_STATES, type Campaign, type CampaignState, type Execution } from '../store/campaigns.ts'
import type { Publisher } from '../mqtt/client.ts'
import type { SchedulerEvents } from '../mqtt/handlers/context.ts'
import { CampaignFinished, CampaignNotFound } from '../errors.ts'
import type { CampaignInput } from './input.ts'
import { planExecutions, planKeys } from './plan.ts'

/**
 * How stale the stored progress of a job may get while its agent keeps reporting: the timeout clock
 * (last_progress), the agent's own figure (agent_done, which nothing reads) and the device's
 * last_seen. A fleet agent reports IN_PROGRESS after every results batch, and each report written was
 * a commit of its own. Within this gap of the job's last progress write, an IN_PROGRESS is only noted
 * in memory, where checkTimeouts sees it (a timeout in this process comes exactly as before), and
 * late news about a job that ended (its execution finished or was retried) is taken as it always
 * was, minus the last_seen write. After a crash the stored clock is behind by at most this much, and
 * it does not matter: a device's timeout clock restarts when its job is sent again as it comes back
 * online to the restarted controller.
 */
export const PROGRESS_REFRESH_MS = 5000

/** A job's progress as this process wrote and saw it. */
interface JobClock {
  deviceId: string
  /** When its progress (and its device's last_seen) was last stored. */
  writtenAt: number
  /** When it last reported progress, stored or not. */
  seenAt: number
  /** Its execution finished or moved on to another job: what it reports now changes nothing. */
  ended: boolean
}

export interface SchedulerOptions {
  store: Store
  publisher: Publisher
  log: Logger
  defaults: { executionTimeoutMs: number; maxRetries: number }
  intervalMs: number
  now?: () => Date
  /** Told the id of every campaign whose state, progress or executions changed (event streams). */
  onChange?: (campaignId: string) => void
}

export interface ExecutionView {
  id: string
  deviceId: string
  runtime: string
  threads: number
  state: string
  attempts: number
  retries: number
  done: number
  total: number
  reason: string | null
  startedAt: string | null
  finishedAt: string | null
}

export interface CampaignView {
  id: string
  name: string
  state: CampaignState
  createdAt: string
  updatedAt: string
  /** Targets per execution: blocks plus whole architectures. */
  blocks: number
  /** Of `blocks`, architectures measured whole. */
  architectures: number
  runtimes: string[]
  settings: Campaign['settings']
  targets: Campaign['targets']
  executionTimeoutMs: number
  maxRetries: number
  progress: { total: number; succeeded: number; failed: number }
  executions: ExecutionView[]
}

export class Scheduler implements SchedulerEvents {
  private timer?: NodeJS.Timeout
  private readonly store: Store
  private readonly log: Logger
  private readonly now: () => Date
  /** By job id: jobs in progress, and ended ones until PROGRESS_REFRESH_MS after their last write (checkTimeouts drops them). */
  private readonly clocks = new Map<string, JobClock>()

  constructor(private readonly opts: SchedulerOptions) {
    this.store = opts.store
    this.log = opts.log
    this.now = opts.now ?? (() => new Date())
  }

  private iso(): string {
    return this.now().toISOString()
  }

  /** Re-evaluates everything stored (after a restart), then watches for timeouts. */
  start(): void {
    for (const id of this.store.campaigns.unfinishedCampaignIds()) this.refreshCampaign(id)
    for (const deviceId of this.store.campaigns.devicesWithUnfinished()) this.pump(deviceId, true)
    this.timer = setInterval(() => this.checkTimeouts(), this.opts.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  createCampaign(input: CampaignInput): { id: string } {
    // Targets first: they are a few lookups, while listing the default space builds ~16k block keys,
    // so a request for devices that do not exist is refused before that work.
    const planned = planExecutions(input, this.store.devices)
    const keys = planKeys(input)
    const id = `c-${crypto.randomBytes(5).toString('hex')}`
    const executions = planned.map((p, i) => ({ ...p, id: `${id}-e${i + 1}` }))
    this.store.campaigns.create(
      {
        id,
        name: input.name,
        runtimes: input.runtimes ?? ['onnxruntime'],
        settings: { ...DEFAULT_MEASURE_SETTINGS, ...input.settings },
        targets: input.targets,
        executionTimeoutMs: input.executionTimeoutMs ?? this.opts.defaults.executionTimeoutMs,
        maxRetries: input.maxRetries ?? this.opts.defaults.maxRetries,
      },
      keys,
      executions,
      this.iso(),
    )
    const architectures = keys.filter((k) => k.kind === 'architecture').length
    this.log.info({ campaignId: id, name: input.name, blocks: keys.length - architectures, architectures, executions: executions.length }, 'campaign created')
    for (const deviceId of new Set(executions.map((e) => e.deviceId))) this.pump(deviceId, false)
    this.changed(id)
    return { id }
  }

  cancelCampaign(id: string): CampaignView {
    const campaign = this.store.campaigns.get(id)
    if (!campaign) throw CampaignNotFound(id)
    if (campaign.state === 'SUCCEEDED' || campaign.state === 'FAILED') throw CampaignFinished(id, campaign.state)
    const now = this.iso()
    const stopped = this.store.transaction(() => {
      const open = this.store.campaigns.executions(id).filter((e) => !TERMINAL_STATES.has(e.state))
      for (const e of open) this.store.campaigns.setState(e.id, 'CANCELED', now, 'campaign canceled')
      this.store.campaigns.cancel(id, now)
      return open
    })
    for (const e of stopped) {
      if (e.jobId) this.ended(e.jobId)
      if (e.jobId) this.send(e.deviceId, encodeMessage('jobs', { v: PROTOCOL_VERSION, type: 'cancel', jobId: e.jobId, time: now }), e.jobId)
    }
    this.log.info({ campaignId: id, canceled: stopped.length }, 'campaign canceled')
    for (const deviceId of new Set(stopped.map((e) => e.deviceId))) this.pump(deviceId, false)
    this.changed(id)
    return this.view(id)
  }

  view(id: string): CampaignView {
    const c = this.store.campaigns.get(id)
    if (!c) throw CampaignNotFound(id)
    const executions = this.store.campaigns.executions(id)
    const total = c.keyCount * executions.length
    const succeeded = executions.reduce((s, e) => s + e.done, 0)
    const failed = executions.filter((e) => FAILED_STATES.has(e.state)).reduce((s, e) => s + (c.keyCount - e.done), 0)
    return {
      id: c.id,
      name: c.name,
      state: c.state,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      blocks: c.keyCount,
      architectures: this.store.campaigns.architectureCount(c.id),
      runtimes: c.runtimes,
      settings: c.settings,
      targets: c.targets,
      executionTimeoutMs: c.executionTimeoutMs,
      maxRetries: c.maxRetries,
      progress: { total, succeeded, failed },
      executions: executions.map((e) => ({
        id: e.id,
        deviceId: e.deviceId,
        runtime: e.runtime,
        threads: e.threads,
        state: e.state,
        attempts: e.attempts,
        retries: e.retries,
        done: e.done,
        total: c.keyCount,
        reason: e.reason,
        startedAt: e.startedAt,
        finishedAt: e.finishedAt,
      })),
    }
  }

  list(): CampaignView[] {
    return this.store.campaigns.list().map((c) => this.view(c.id))
  }

  // ---- events from MQTT handlers ----

  onDeviceOnline(deviceId: string): void {
    this.pump(deviceId, true)
  }

  isRoutineJobState(deviceId: string, msg: JobStateMessage): boolean {
    const clock = this.clocks.get(msg.jobId)
    if (!clock || clock.deviceId !== deviceId || (msg.state !== 'IN_PROGRESS' && !clock.ended)) return false
    const now = this.now().getTime()
    if (now - clock.writtenAt >= PROGRESS_REFRESH_MS) return false
    clock.seenAt = now
    return true
  }

  onJobState(deviceId: string, msg: JobStateMessage): boolean {
    const owner = this.store.campaigns.jobOwner(msg.jobId)
    if (!owner || owner.deviceId !== deviceId) return false
    const e = this.store.campaigns.execution(owner.executionId)!
    // Late news about a finished execution or a superseded attempt changes nothing.
    if (TERMINAL_STATES.has(e.state) || e.jobId !== msg.jobId) return true
    const at = this.now()
    const now = at.toISOString()
    switch (msg.state) {
      case 'ACCEPTED':
      case 'IN_PROGRESS':
        this.store.campaigns.progress(e.id, now, msg.progress?.done, msg.progress?.total)
        if (e.state !== 'IN_PROGRESS') {
          this.store.campaigns.setState(e.id, 'IN_PROGRESS', now)
          this.refreshCampaign(e.campaignId)
        }
        this.progressWritten(msg.jobId, deviceId, at.getTime())
        break
      case 'SUCCEEDED':
        // Results may still be on their way; complete() decides, the timeout catches missing ones.
        this.store.campaigns.agentFinished(e.id, now)
        this.complete(e.id)
        break
      case 'FAILED':
      case 'CANCELED':
        this.retryOrEnd(e, 'FAILED', `attempt ${e.attempts} ${msg.state === 'FAILED' ? 'failed' : 'was canceled by the agent'}${msg.reason ? `: ${msg.reason}` : ''}`)
        break
      case 'REJECTED':
        this.finish(e, 'REJECTED', `rejected by the agent${msg.reason ? `: ${msg.reason}` : ''}`)
        break
    }
    this.changed(e.campaignId)
    return true
  }

  onResultsStored(executionId: string): void {
    const e = this.store.campaigns.execution(executionId)
    if (!e || TERMINAL_STATES.has(e.state)) return
    const at = this.now()
    const now = at.toISOString()
    this.store.campaigns.progress(e.id, now)
    if (e.state === 'QUEUED' && e.jobId) {
      this.store.campaigns.setState(e.id, 'IN_PROGRESS', now)
      this.refreshCampaign(e.campaignId)
    }
    if (e.jobId) this.progressWritten(e.jobId, e.deviceId, at.getTime())
    // e.done was read after the batch committed: no second read of the execution.
    if (e.done >= (this.store.campaigns.keyCount(e.campaignId) ?? Infinity)) this.finish(e, 'SUCCEEDED')
    this.changed(e.campaignId)
  }

  /** Completes executions whose blocks are all stored; times out those whose online device made no progress for executionTimeoutMs. */
  checkTimeouts(): void {
    const now = this.now().getTime()
    for (const [jobId, clock] of this.clocks) if (clock.ended && now - clock.writtenAt >= PROGRESS_REFRESH_MS) this.clocks.delete(jobId)
    for (const e of this.store.campaigns.outstanding()) {
      // Every block stored by another ingest process (an ingest group): done, whatever the clock says.
      if (e.done >= e.keyCount) {
        this.finish(e, 'SUCCEEDED')
        continue
      }
      // A report noted in memory only (isRoutineJobState) counts as progress, as if it were stored.
      const since = Math.max(e.lastProgress ? Date.parse(e.lastProgress) : 0, (e.jobId && this.clocks.get(e.jobId)?.seenAt) || 0)
      if (now - since < e.executionTimeoutMs) continue
      const what = e.agentFinished ? `ended with ${e.done} blocks stored` : 'made no progress'
      this.retryOrEnd(e, 'TIMED_OUT', `attempt ${e.attempts} ${what} within ${e.executionTimeoutMs} ms`)
      this.changed(e.campaignId)
    }
  }

  // ---- internals ----

  private progressWritten(jobId: string, deviceId: string, at: number): void {
    const clock = this.clocks.get(jobId)
    if (clock) clock.writtenAt = clock.seenAt = at
    else this.clocks.set(jobId, { deviceId, writtenAt: at, seenAt: at, ended: false })
  }

  private ended(jobId: string): void {
    const clock = this.clocks.get(jobId)
    if (clock) clock.ended = true
  }

  private changed(campaignId: string): void {
    this.opts.onChange?.(campaignId)
  }

  /** SUCCEEDED once every campaign key is stored for the execution. */
  private complete(executionId: string): void {
    const e = this.store.campaigns.execution(executionId)!
    if (e.done < (this.store.campaigns.keyCount(e.campaignId) ?? Infinity)) return
    this.finish(e, 'SUCCEEDED')
  }

  private retryOrEnd(e: Execution, terminal: 'FAILED' | 'TIMED_OUT', reason: string): void {
    const c = this.store.campaigns.get(e.campaignId)!
    if (e.jobId) this.ended(e.jobId)
    if (e.retries < c.maxRetries) {
      this.log.warn({ executionId: e.id, reason, retry: e.retries + 1, maxRetries: c.maxRetries }, 'execution retried')
      // A stuck job is told to stop before its replacement goes out; a failed one has stopped already.
      if (terminal === 'TIMED_OUT' && e.jobId)
        this.send(e.deviceId, encodeMessage('jobs', { v: PROTOCOL_VERSION, type: 'cancel', jobId: e.jobId, time: this.iso() }), e.jobId)
      this.store.campaigns.requeueForRetry(e.id, `${reason}; retry ${e.retries + 1} of ${c.maxRetries}`)
      this.pump(e.deviceId, false)
    } else {
      this.finish(e, terminal, `${reason}; no retries left (maxRetries ${c.maxRetries})`)
    }
  }

  private finish(e: Execution, state: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'REJECTED', reason?: string): void {
    this.store.campaigns.setState(e.id, state, this.iso(), reason)
    if (e.jobId) this.ended(e.jobId)
    this.log.info({ executionId: e.id, deviceId: e.deviceId, state, reason }, 'execution finished')
    this.refreshCampaign(e.campaignId)
    this.changed(e.campaignId)
    this.pump(e.deviceId, false)
  }

  /**
   * Campaign state, derived from its executions. Called whenever one of them starts or ends, so it
   * must not read the whole campaign: index seeks decide, and the one scan (did every execution
   * succeed) runs once, when the last one ends.
   */
  private refreshCampaign(campaignId: string): void {
    const c = this.store.campaigns.stateOf(campaignId)
    if (!c || c.canceled) return
    let state: CampaignState
    if (!this.store.campaigns.hasOpenExecutions(campaignId)) state = this.store.campaigns.allSucceeded(campaignId) ? 'SUCCEEDED' : 'FAILED'
    else if (c.state === 'IN_PROGRESS' || this.store.campaigns.hasStartedExecutions(campaignId)) state = 'IN_PROGRESS'
    else state = 'QUEUED'
    if (state !== c.state && this.store.campaigns.setCampaignState(campaignId, state, this.iso())) this.log.info({ campaignId, state }, 'campaign state')
  }

  /**
   * Gives an online device its work: resends the job it has (when `resend`, e.g. it came back
   * online), or starts its oldest queued execution.
   */
  private pump(deviceId: string, resend: boolean): void {
    if (this.store.devices.status(deviceId) !== 'online') return
    const unfinished = this.store.campaigns.unfinishedOfDevice(deviceId)
    const active = unfinished.find((e) => e.jobId !== null)
    if (active) {
      if (resend) this.dispatch(active, false)
      return
    }
    if (unfinished.length > 0) this.dispatch(unfinished[0], true)
  }

  private dispatch(e: Execution, newAttempt: boolean): void {
    const c = this.store.campaigns.get(e.campaignId)!
    const keys = this.store.campaigns.keys(c.id)
    const stored = this.store.campaigns.storedKeys(e.id)
    if (stored.length >= keys.length) return this.finish(e, 'SUCCEEDED')
    const blocks = keys.filter((k) => k.kind === 'block').map((k) => k.key)
    const architectures = keys.filter((k) => k.kind === 'architecture').map((k) => k.key)
    const now = this.iso()
    let jobId = e.jobId
    if (newAttempt || !jobId) {
      jobId = `${e.id}-a${e.attempts + 1}`
      this.store.campaigns.recordJob(e.id, e.deviceId, jobId, e.attempts + 1, now)
    } else {
      this.store.campaigns.progress(e.id, now) // the timeout clock restarts with the resend
    }
    const job: JobMessage = {
      v: PROTOCOL_VERSION,
      type: 'job',
      jobId,
      campaignId: c.id,
      runtime: e.runtime,
      threads: e.threads,
      blocks,
      settings: c.settings,
      time: now,
    }
    if (architectures.length > 0) job.architectures = architectures
    if (stored.length > 0) job.skip = stored
    // Sent again with batches stored: the agent may have lost its state, keep it off the used seqs.
    const maxSeq = this.store.measurements.maxSeq(jobId)
    if (maxSeq !== null) job.seqFrom = maxSeq + 1
    let payload = encodeMessage('jobs', job)
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      // Too big with the skip list: send only what is left to measure.
      const have = new Set(stored)
      const left = (list: string[]) => list.filter((k) => !have.has(k))
      payload = encodeMessage('jobs', { ...job, blocks: left(blocks), architectures: job.architectures && left(job.architectures), skip: undefined })
    }
    this.log.info({ executionId: e.id, deviceId: e.deviceId, jobId, blocks: keys.length, skip: stored.length, resend: !newAttempt }, 'job sent')
    this.send(e.deviceId, payload, jobId)
    this.changed(c.id)
  }

  private send(deviceId: string, payload: string, jobId: string): void {
    this.opts.publisher.publish(topics.jobs(deviceId), payload).catch((err) => this.log.warn({ err, deviceId, jobId }, 'job publish failed'))
  }
}

/**
 * What an ingest-only process (an ingest group member that does not schedule) does when it stores
 * results: it restarts the execution's timeout clock; the scheduling process's tick completes
 * the execution and sends the next job.
 */
export function ingestOnlyEvents(store: Store, now: () => string): SchedulerEvents {
  return {
    onDeviceOnline: () => {},
    isRoutineJobState: () => false,
    onJobState: () => true,
    onResultsStored: (executionId) => void store.campaigns.progress(executionId, now()),
  }
}
