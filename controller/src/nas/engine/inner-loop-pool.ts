/**
 * A pool of worker threads that run MAML inner loops in parallel: each worker owns a TrainingEngine
 * at one intra-op thread (these small convolutions do not scale inside one session; whole tasks
 * side by side do). Parameters go to the workers through one SharedArrayBuffer per network, copied
 * in once per run(); gradients and logits come back as transferred copies. Results are delivered in
 * task order (see inner-loop-runner.ts), so sums over them equal the serial path's bit for bit when
 * that path runs at one intra-op thread.
 *
 * Workers are plain threads of this process: call dispose() when done (it terminates them), or
 * they keep the process alive.
 */
import { Worker } from 'node:worker_threads'
import { FleetnasError } from '@fleetnas/shared'
import type { InnerTask, Network, StepResult } from './engine.ts'
import type { InnerLoopOptions, InnerLoopRunner, OnInnerLoopResult } from './inner-loop-runner.ts'
import type { WorkerReply, WorkerRequest } from './inner-loop-worker.ts'
import { LruCache } from './lru-cache.ts'
import { EngineDisposed, ParamsSizeMismatch, PoolBusy, PoolWorkerFailed } from './errors.ts'

const WORKER_ENTRY = new URL('./inner-loop-worker-entry.js', import.meta.url)

export interface InnerLoopPoolOptions {
  /** Worker threads (default 2). */
  workers?: number
  /** Sessions each worker keeps alive (default 4). */
  maxSessions?: number
}

interface PoolWorker {
  worker: Worker
  inFlight: number
}

interface Pending {
  resolve: (r: StepResult) => void
  reject: (e: Error) => void
  owner: PoolWorker
}

/** A view's own elements: posting a view clones its whole underlying buffer, which may be a dataset. */
function own<A extends Float32Array | Int32Array>(a: A): A {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as A)
}

let liveWorkers = 0

/** Pool worker threads alive in this process, over all pools (diagnostics; tests check for leaks). */
export function liveWorkerThreads(): number {
  return liveWorkers
}

/** Tasks queued per worker: one running and one ready, so a worker never waits for the main thread to sample. */
const QUEUE_PER_WORKER = 2

export class InnerLoopPool implements InnerLoopRunner {
  readonly parallelism: number
  private readonly workers: PoolWorker[] = []
  private readonly maxSessions: number
  private readonly pending = new Map<number, Pending>()
  /** Parameter buffers of the networks run lately. */
  private readonly shared = new LruCache<string, Float32Array>(8)
  private nextId = 0
  private running = false
  private disposed = false
  private failure?: FleetnasError

  constructor(opts: InnerLoopPoolOptions = {}) {
    this.parallelism = Math.max(1, Math.floor(opts.workers ?? 2))
    this.maxSessions = opts.maxSessions ?? 4
  }

  /** Thread ids of the live workers (they start with the first run; none once disposed). */
  get threadIds(): number[] {
    return this.disposed ? [] : this.workers.map((w) => w.worker.threadId)
  }

  run<T extends InnerTask>(net: Network, params: Float32Array, tasks: Iterable<T>, opts: InnerLoopOptions, onResult: OnInnerLoopResult<T>): Promise<number> {
    if (this.disposed) return Promise.reject(EngineDisposed())
    if (this.failure) return Promise.reject(this.failure)
    if (this.running) return Promise.reject(PoolBusy())
    if (params.length !== net.layout.size) return Promise.reject(ParamsSizeMismatch(net.id, net.layout.size, params.length))
    this.running = true
    while (this.workers.length < this.parallelism) this.workers.push(this.spawn(this.maxSessions))
    const shared = this.sharedParams(net, params)
    const iterator = tasks[Symbol.iterator]()
    const ready = new Map<number, { r: StepResult; task: T }>()
    const capacity = this.parallelism * QUEUE_PER_WORKER
    let dispatched = 0
    let delivered = 0
    let inFlight = 0
    let exhausted = false
    let error: unknown
    return new Promise<number>((resolve, reject) => {
      const pump = () => {
        while (error === undefined && ready.has(delivered)) {
          const { r, task } = ready.get(delivered)!
          ready.delete(delivered)
          try {
            onResult(r, task, delivered)
          } catch (e) {
            error = e
          }
          delivered++
        }
        while (error === undefined && !exhausted && inFlight < capacity) {
          let next: IteratorResult<T>
          try {
            next = iterator.next()
          } catch (e) {
            error = e
            break
          }
          if (next.done) {
            exhausted = true
            break
          }
          const index = dispatched++
          const task = next.value
          inFlight++
          this.send(net, shared, task, opts).then(
            (r) => ready.set(index, { r, task }),
            (e) => (error ??= e),
          ).finally(() => {
            inFlight--
            pump()
          })
        }
        if (inFlight > 0) return
        this.running = false
        if (error !== undefined) reject(error)
        else resolve(dispatched)
      }
      pump()
    })
  }

  /** Terminates the workers; runs still going reject with FLEETNAS_ERR_ENGINE_DISPOSED. */
  async dispose(): Promise<void> {
    if (this.disposed) return
    this.disposed = true
    for (const p of this.pending.values()) p.reject(EngineDisposed())
    this.pending.clear()
    await Promise.all(this.workers.map((w) => w.worker.terminate()))
  }

  private spawn(maxSessions: number): PoolWorker {
    // No inherited loader flags (tap's, tsx's): the entry registers tsx itself.
    const worker = new Worker(WORKER_ENTRY, { execArgv: [], workerData: { maxSessions } })
    const pw: PoolWorker = { worker, inFlight: 0 }
    liveWorkers++
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id)
      if (!p) return
      this.pending.delete(m.id)
      p.owner.inFlight--
      if ('error' in m) p.reject(new FleetnasError(m.error.code ?? 'FLEETNAS_ERR_ENGINE_WORKER_FAILED', m.error.message, m.error.statusCode ?? 500))
      else p.resolve({ loss: m.loss, logits: m.logits, grads: m.grads })
    })
    worker.on('error', (e) => this.fail(`${e.name}: ${e.message}`))
    worker.on('exit', (code) => {
      liveWorkers--
      if (!this.disposed) this.fail(`thread ${worker.threadId} exited with code ${code}`)
    })
    return pw
  }

  private fail(reason: string): void {
    this.failure ??= PoolWorkerFailed(reason)
    for (const p of this.pending.values()) p.reject(this.failure)
    this.pending.clear()
  }

  private send(net: Network, params: SharedArrayBuffer, task: InnerTask, opts: InnerLoopOptions): Promise<StepResult> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.disposed) return Promise.reject(EngineDisposed())
    const owner = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
    const id = this.nextId++
    const req: WorkerRequest = {
      id,
      net: { arch: net.arch, space: net.space },
      params,
      // Only what the engine reads; the arrays are copied (the caller's task stays intact).
      task: { supportX: own(task.supportX), supportY: own(task.supportY), queryX: own(task.queryX), queryY: task.queryY && own(task.queryY) },
      opts: { steps: opts.steps, lr: opts.lr, mode: opts.mode },
    }
    return new Promise<StepResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, owner })
      owner.inFlight++
      owner.worker.postMessage(req)
    })
  }

  /** The network's SharedArrayBuffer-backed parameters, refreshed from `params`. */
  private sharedParams(net: Network, params: Float32Array): SharedArrayBuffer {
    const key = `${net.id}|${JSON.stringify(net.space)}`
    let view = this.shared.get(key)
    if (!view || view.length !== params.length) {
      view = new Float32Array(new SharedArrayBuffer(params.length * Float32Array.BYTES_PER_ELEMENT))
      this.shared.set(key, view)
    }
    view.set(params)
    return view.buffer as SharedArrayBuffer
  }
}
