/**
 * Groups one job's measurements into ResultsMessage batches (every `maxBatch` measurements or
 * `maxDelayMs` after the first one waiting) and hands each batch to the outbox before it is
 * published: outbox write (durable) -> journal line (seq, keys) -> publish.
 */
import { PROTOCOL_VERSION, type Measurement, type ResultsMessage } from '@fleetnas/shared'
import type { JobStore } from './job-store.ts'
import type { Outbox } from './outbox.ts'

export interface BatcherOptions {
  deviceId: string
  jobId: string
  outbox: Outbox
  store: JobStore
  publish: (message: ResultsMessage) => void
  maxBatch?: number
  maxDelayMs?: number
  onError?: (e: Error) => void
}

/** Kinds that count as "measured" for resuming a job; empty and reference are per run. */
const RESUMABLE_KINDS: ReadonlySet<Measurement['kind']> = new Set(['block', 'architecture'])

export class ResultsBatcher {
  private buffer: Measurement[] = []
  private timer: NodeJS.Timeout | undefined
  private chain: Promise<void> = Promise.resolve()
  private failure: Error | undefined

  constructor(private readonly o: BatcherOptions) {}

  add(m: Measurement): void {
    this.buffer.push(m)
    if (this.buffer.length >= (this.o.maxBatch ?? 25)) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), this.o.maxDelayMs ?? 2000)
  }

  /** Writes whatever is buffered; resolves when every batch so far is on disk and published. */
  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const measurements = this.buffer
    this.buffer = []
    if (measurements.length > 0) this.chain = this.chain.then(() => this.write(measurements))
    return this.chain.then(() => {
      if (this.failure) throw this.failure
    })
  }

  private async write(measurements: Measurement[]): Promise<void> {
    const { jobId, outbox, store } = this.o
    try {
      const seq = store.nextSeq(jobId, outbox.maxSeq(jobId) + 1)
      const message: ResultsMessage = { v: PROTOCOL_VERSION, deviceId: this.o.deviceId, jobId, seq, measurements }
      await outbox.put(message)
      await store.recordBatch(jobId, seq, measurements.filter((m) => RESUMABLE_KINDS.has(m.kind)).map((m) => m.key))
      this.o.publish(message)
      outbox.markPublished(message)
    } catch (e) {
      this.failure ??= e as Error
      this.o.onError?.(e as Error)
    }
  }
}
