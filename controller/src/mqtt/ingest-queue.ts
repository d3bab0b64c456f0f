/**
 * Result batches between the MQTT session and the store. The results handler checks a batch
 * (device, job) and queues it here; a drain, scheduled as soon as the messages that arrived
 * together have been read, stores up to `maxBatchesPerTransaction` batches in ONE write transaction
 * (one commit for hundreds of batches instead of one each), marks the LUT rows they touched for the
 * next fold, then tells the scheduler which executions progressed and acks each batch. Acks leave
 * only after the commit, so an acked batch is stored. The scheduler's writes for the executions that
 * progressed share that commit.
 *
 * Fairness: batches are queued per device and a drain takes one from each device in turn, so a
 * device with a deep queue delays the others by at most one batch per round.
 * Backpressure: past `highWater` queued batches the session stops acknowledging MQTT deliveries
 * (`admit` holds the PUBACK), so the broker keeps further results in the controller's session
 * until the queue is below `highWater / 2`; a store that is slow or locked by another process
 * (SQLITE_BUSY after busy_timeout) keeps its batches queued and retried: acks slow down, nothing is
 * dropped. A batch the store refuses for another reason (a bug, never expected) is isolated and
 * dropped unacked, like a handler error; the agent resends it.
 */
import { encodeMessage, PROTOCOL_VERSION, topics, type ResultsMessage } from '@fleetnas/shared'
import type { Logger } from 'pino'
import type { Store } from '../store/db.ts'
import type { BatchOutcome } from '../store/measurements.ts'
import { lutKeyId, touchedLutKeys } from '../luts/builder.ts'
import type { Publisher } from './client.ts'
import type { LatencyEvents, SchedulerEvents } from './handlers/context.ts'

export const DUPLICATE_COUNTER = 'mqtt_duplicate_batches'
export const DUPLICATE_MEASUREMENT_COUNTER = 'mqtt_duplicate_measurements'

export interface QueuedBatch {
  deviceId: string
  msg: ResultsMessage
  executionId: string
  campaignId: string
}

export interface IngestOptions {
  store: Store
  scheduler: SchedulerEvents
  latency?: LatencyEvents
  publisher: Publisher
  log: Logger
  now(): string
  maxBatchesPerTransaction?: number
  highWater?: number
  retryDelayMs?: number
  /** Told when a batch could not be stored for a reason other than a busy store. */
  onFailed?(batch: QueuedBatch, err: Error): void
}

/** Figures for /metrics, per process. */
export interface IngestStats {
  queued: number
  /** The most batches queued at once since start. */
  peakQueued: number
  heldAcks: number
  transactions: number
  batches: number
  storeRetries: number
}

const isBusy = (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test((e as { code?: string }).code ?? '')

export class IngestQueue {
  private readonly byDevice = new Map<string, QueuedBatch[]>()
  private queued = 0
  private held: (() => void)[] = []
  private drainScheduled = false
  private retryTimer?: NodeJS.Timeout
  private stopped = false
  private readonly max: number
  private readonly highWater: number
  private readonly stats = { transactions: 0, batches: 0, storeRetries: 0, peakQueued: 0 }

  constructor(private readonly o: IngestOptions) {
    this.max = o.maxBatchesPerTransaction ?? 500
    this.highWater = o.highWater ?? 2000
  }

  enqueue(b: QueuedBatch): void {
    const q = this.byDevice.get(b.deviceId)
    if (q) q.push(b)
    else this.byDevice.set(b.deviceId, [b])
    if (++this.queued > this.stats.peakQueued) this.stats.peakQueued = this.queued
    this.schedule()
  }

  /** The MQTT session asks before taking the next delivery: `go` runs now, or once the queue has room. */
  admit(go: () => void): void {
    if (this.queued < this.highWater || this.stopped) go()
    else this.held.push(go)
  }

  figures(): IngestStats {
    return { queued: this.queued, heldAcks: this.held.length, ...this.stats }
  }

  /** Stores what is queued (shutdown), then takes nothing more. */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    while (this.queued > 0 && this.drain()) {
      /* each round stores up to `max` */
    }
    this.stopped = true
    this.release()
  }

  private schedule(delayMs = 0): void {
    if (this.drainScheduled || this.stopped) return
    this.drainScheduled = true
    const run = () => {
      this.drainScheduled = false
      this.retryTimer = undefined
      if (this.drain() && this.queued > 0) this.schedule()
    }
    // setImmediate: after every delivery already read from the socket has been queued.
    if (delayMs > 0) this.retryTimer = setTimeout(run, delayMs)
    else setImmediate(run)
  }

  /** Up to `max` batches, one per device per round; devices served move to the back. */
  private take(): QueuedBatch[] {
    const out: QueuedBatch[] = []
    const served: string[] = []
    while (out.length < this.max && this.byDevice.size > 0) {
      for (const [id, q] of this.byDevice) {
        out.push(q.shift()!)
        if (q.length === 0) this.byDevice.delete(id)
        else served.push(id)
        if (out.length >= this.max) break
      }
    }
    for (const id of new Set(served)) {
      const q = this.byDevice.get(id)
      if (!q) continue
      this.byDevice.delete(id)
      this.byDevice.set(id, q)
    }
    this.queued -= out.length
    return out
  }

  private putBack(batches: QueuedBatch[]): void {
    for (const b of [...batches].reverse()) {
      const q = this.byDevice.get(b.deviceId)
      if (q) q.unshift(b)
      else this.byDevice.set(b.deviceId, [b])
    }
    this.queued += batches.length
  }

  /** One transaction. Returns false when the store was busy (the batches stay queued, retried later). */
  private drain(): boolean {
    const batches = this.take()
    if (batches.length === 0) return true
    const now = this.o.now()
    let outcomes: (BatchOutcome | Error)[]
    try {
      outcomes = this.o.store.writeTransaction(() => this.storeAndAdvance(batches, now))
    } catch (e) {
      if (isBusy(e)) {
        this.putBack(batches)
        this.stats.storeRetries++
        this.o.log.warn({ err: (e as Error).message, queued: this.queued }, 'store busy; results stay queued and are retried')
        this.schedule(this.o.retryDelayMs ?? 200)
        return false
      }
      // Something in one batch broke the transaction: store them one by one to isolate it.
      outcomes = batches.map((b) => {
        try {
          return this.o.store.writeTransaction(() => this.storeAndAdvance([b], now))[0]
        } catch (err) {
          return err as Error
        }
      })
    }
    this.stats.transactions++
    this.afterCommit(batches, outcomes)
    this.release()
    return true
  }

  /**
   * The batches, then the scheduler's writes for every execution that progressed, in the caller's
   * transaction: one commit per drain (a commit rewrites every page the drain touched, so two per
   * drain cost twice the WAL writes). A scheduler failure rolls back its own savepoint only: the
   * results stay stored and acked, and the scheduler's tick finds finished executions.
   */
  private storeAndAdvance(batches: QueuedBatch[], now: string): BatchOutcome[] {
    const outcomes = this.storeAll(batches, now)
    const progressed = new Set<string>()
    // Nothing stored (all duplicates) is no progress: it must not hold off the timeout of the current attempt.
    batches.forEach((b, i) => outcomes[i].stored.length > 0 && progressed.add(b.executionId))
    for (const id of progressed)
      try {
        this.o.store.transaction(() => this.o.scheduler.onResultsStored(id))
      } catch (err) {
        this.o.log.error({ err, executionId: id }, 'scheduler failed after results were stored')
      }
    return outcomes
  }

  private storeAll(batches: QueuedBatch[], now: string): BatchOutcome[] {
    const { store } = this.o
    const profiles = new Map<string, string | null>()
    let duplicateBatches = 0
    let duplicateMeasurements = 0
    const outcomes = batches.map((b) => {
      let profile = profiles.get(b.deviceId)
      if (profile === undefined) profiles.set(b.deviceId, (profile = store.devices.hardwareProfile(b.deviceId)))
      const owner = { jobId: b.msg.jobId, seq: b.msg.seq, deviceId: b.deviceId, executionId: b.executionId, campaignId: b.campaignId, hardwareProfile: profile }
      const outcome = store.measurements.insertBatch(owner, b.msg.measurements, now)
      if (!outcome.fresh) duplicateBatches++
      duplicateMeasurements += outcome.duplicates
      return outcome
    })
    const pending = new Map<string, ReturnType<typeof touchedLutKeys>[number]>()
    batches.forEach((b, i) => {
      for (const k of touchedLutKeys(profiles.get(b.deviceId)!, outcomes[i].stored)) pending.set(lutKeyId(k), k)
    })
    for (const k of pending.values()) store.luts.markPending(k)
    for (const deviceId of profiles.keys()) store.devices.touch(deviceId, now)
    if (duplicateBatches > 0) store.counters.increment(DUPLICATE_COUNTER, {}, duplicateBatches)
    if (duplicateMeasurements > 0) store.counters.increment(DUPLICATE_MEASUREMENT_COUNTER, {}, duplicateMeasurements)
    return outcomes
  }

  private afterCommit(batches: QueuedBatch[], outcomes: (BatchOutcome | Error)[]): void {
    const { store, latency, log } = this.o
    this.stats.batches += batches.length
    batches.forEach((b, i) => {
      const outcome = outcomes[i]
      if (outcome instanceof Error) {
        log.error({ err: outcome, deviceId: b.deviceId, jobId: b.msg.jobId, seq: b.msg.seq }, 'results batch not stored')
        this.o.onFailed?.(b, outcome)
        return
      }
      if (latency)
        for (const m of outcome.stored)
          if (m.kind === 'architecture') {
            const hardwareProfile = store.devices.hardwareProfile(b.deviceId)
            if (hardwareProfile) latency.scheduleRefit({ hardwareProfile, runtime: m.runtime, threads: m.threads, backend: m.backend })
          }
      // Acked after the commit that holds the batch and the scheduler's progress, so an API read
      // after the ack sees both. One ack per batch, as a batch stored alone would get (a repeated
      // batch is acked each time).
      const payload = encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: b.msg.jobId, seqs: [b.msg.seq] })
      this.o.publisher.publish(topics.acks(b.deviceId), payload).catch((err) => log.warn({ err, jobId: b.msg.jobId, seq: b.msg.seq }, 'ack publish failed'))
    })
  }

  private release(): void {
    if (this.held.length === 0 || (this.queued >= this.highWater / 2 && !this.stopped)) return
    for (const go of this.held.splice(0)) go()
  }
}
