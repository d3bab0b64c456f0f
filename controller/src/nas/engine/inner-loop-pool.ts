/**
 * A pool of worker threads that run MAML inner loops in parallel: each worker owns a TrainingEngine
 * at one intra-op thread (these small convolutions do not scale inside one session; whole tasks
 * side by side do). Parameters go to the workers through one SharedArrayBuffer per network, copied
 * in once per run() (runEach: once per parameter array); gradients and logits come back as
 * transferred copies. A free worker takes a waiting task of a network it has run before, so a
 * supernet's sub-networks are not compiled in every worker (runEach). Results are delivered in
 * task order (see inner-loop-runner.ts), so sums over them equal the serial path's bit for bit when
 * that path runs at one intra-op thread.
 *
 * Workers are plain threads of this process: call dispose() when done (it terminates them), or
 * they keep the process alive.
 */
import { Worker } from 'node:worker_threads'
import { FleetnasError } from '@fleetnas/shared'
import type { EngineOptions, InnerTask, Network, StepResult } from './engine.ts'
import type { InnerLoopOptions, InnerLoopRunner, NetworkTask, OnInnerLoopResult } from './inner-loop-runner.ts'
import type { WorkerReply, WorkerRequest } from './inner-loop-worker.ts'
import { LruCache } from './lru-cache.ts'
import { EngineDisposed, ParamsSizeMismatch, PoolBusy, PoolWorkerFailed } from './errors.ts'

const WORKER_ENTRY = new URL('./inner-loop-worker-entry.js', import.meta.url)

export interface InnerLoopPoolOptions {
  /** Worker threads (default 2). */
  workers?: number
  /** Sessions each worker keeps alive (default 4). */
  maxSessions?: number
  /** The workers' engines' ONNX Runtime graph optimisation level (default: the engine's). */
  graphOptimizationLevel?: EngineOptions['graphOptimizationLevel']
}

interface PoolWorker {
  worker: Worker
  inFlight: number
  /** Networks run here lately (their sessions are likely still compiled here). */
  networks: RecentKeys
}

/** A bounded set of recent keys, the worker engine's session cache seen from outside. */
class RecentKeys {
  private readonly keys: LruCache<string, true>
  constructor(capacity: number) {
    this.keys = new LruCache(capacity)
  }
  add(key: string): void {
    this.keys.set(key, true)
  }
  has(key: string): boolean {
    return this.keys.keys().includes(key)
  }
}

interface Waiting<T> {
  index: number
  task: T
  net: Network
  params: SharedArrayBuffer
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

function copyToShared(a: Float32Array): SharedArrayBuffer {
  const view = new Float32Array(new SharedArrayBuffer(a.length * Float32Array.BYTES_PER_ELEMENT))
  view.set(a)
  return view.buffer as SharedArrayBuffer
}

const networkKey = (net: Network) => `${net.id}|${JSON.stringify(net.space)}`

let liveWorkers = 0

/** Pool worker threads alive in this process, over all pools (diagnostics; tests check for leaks). */
export function liveWorkerThreads(): number {
  return liveWorkers
}

/** Tasks queued per worker: one running and one ready, so a worker never waits for the main thread to sample. */
const QUEUE_PER_WORKER = 2
/**
 * runEach's tasks differ in cost (a supernet's largest and smallest sub-networks side by side):
 * a worker takes its next task only when it is free, so a long task does not hold a queue of
 * others behind it while another worker idles.
 */
const QUEUE_PER_WORKER_MIXED = 1

export class InnerLoopPool implements InnerLoopRunner {
  readonly parallelism: number
  private readonly workers: PoolWorker[] = []
  private readonly maxSessions: number
  private readonly optimizationLevel?: EngineOptions['graphOptimizationLevel']
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
    this.optimizationLevel = opts.graphOptimizationLevel
  }

  /** Thread ids of the live workers (they start with the first run; none once disposed). */
  get threadIds(): number[] {
    return this.disposed ? [] : this.workers.map((w) => w.worker.threadId)
  }

  run<T extends InnerTask>(net: Network, params: Float32Array, tasks: Iterable<T>, opts: InnerLoopOptions, onResult: OnInnerLoopResult<T>): Promise<number> {
    if (params.length !== net.layout.size) return Promise.reject(ParamsSizeMismatch(net.id, net.layout.size, params.length))
    return this.dispatch(tasks, opts, onResult, false, () => {
      const target = { net, params: this.sharedParams(net, params) }
      return () => target
    })
  }

  runEach<T extends NetworkTask>(tasks: Iterable<T>, opts: InnerLoopOptions, onResult: OnInnerLoopResult<T>): Promise<number> {
    return this.dispatch(tasks, opts, onResult, true, () => {
      // One shared buffer per parameter array of this run, filled once when its first task is sent.
      const buffers = new Map<Float32Array, SharedArrayBuffer>()
      const claimed = new Set<string>()
      return (task: T) => {
        if (task.params.length !== task.net.layout.size) throw ParamsSizeMismatch(task.net.id, task.net.layout.size, task.params.length)
        let buffer = buffers.get(task.params)
        if (!buffer) {
          buffer = this.sharedParams(task.net, task.params, claimed)
          buffers.set(task.params, buffer)
        }
        return { net: task.net, params: buffer }
      }
    })
  }

  /**
   * Runs `tasks` on the workers and hands results to `onResult` in task order. Tasks are pulled
   * lazily into a small look-ahead and go to free workers (see pick). `mixed`: tasks of different
   * networks and costs (runEach), one in flight per worker; otherwise two. `prepare` is called once the run is
   * accepted and returns where each task runs (its network and shared parameter buffer).
   */
  private dispatch<T extends InnerTask>(
    tasks: Iterable<T>,
    opts: InnerLoopOptions,
    onResult: OnInnerLoopResult<T>,
    mixed: boolean,
    prepare: () => (task: T) => { net: Network; params: SharedArrayBuffer },
  ): Promise<number> {
    if (this.disposed) return Promise.reject(EngineDisposed())
    if (this.failure) return Promise.reject(this.failure)
    if (this.running) return Promise.reject(PoolBusy())
    this.running = true
    while (this.workers.length < this.parallelism) this.workers.push(this.spawn(this.maxSessions))
    const targetOf = prepare()
    const iterator = tasks[Symbol.iterator]()
    const ready = new Map<number, { r: StepResult; task: T }>()
    const waiting: Waiting<T>[] = []
    const perWorker = mixed ? QUEUE_PER_WORKER_MIXED : QUEUE_PER_WORKER
    // Room for every worker's queue and a choice for the next free one.
    const lookahead = this.parallelism * (perWorker + 1)
    let pulled = 0
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
        while (error === undefined) {
          while (error === undefined && !exhausted && waiting.length < lookahead) {
            try {
              const next = iterator.next()
              if (next.done) exhausted = true
              else waiting.push({ index: pulled++, task: next.value, ...targetOf(next.value) })
            } catch (e) {
              error = e
            }
          }
          const free = this.workers.filter((w) => w.inFlight < perWorker)
          if (error !== undefined || waiting.length === 0 || free.length === 0) break
          const owner = free.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
          const w = waiting.splice(this.pick(waiting, owner), 1)[0]
          inFlight++
          this.send(owner, w.net, w.params, w.task, opts).then(
            (r) => ready.set(w.index, { r, task: w.task }),
            (e) => (error ??= e),
          ).finally(() => {
            inFlight--
            pump()
          })
        }
        if (inFlight > 0) return
        this.running = false
        if (error !== undefined) reject(error)
        else resolve(pulled)
      }
      pump()
    })
  }

  /**
   * Which waiting task `owner` takes: one of a network it has run (its sessions are compiled
   * there), else one no worker has run, else the first. (Leaving a task to the worker that has
   * its network compiled was slower: the other worker idles, 116 against 73 ms per task in
   * bench:supernet's setting at 2 threads.)
   */
  private pick(waiting: Waiting<InnerTask>[], owner: PoolWorker): number {
    const key = (w: Waiting<InnerTask>) => networkKey(w.net)
    const here = waiting.findIndex((w) => owner.networks.has(key(w)))
    if (here >= 0) return here
    const fresh = waiting.findIndex((w) => !this.workers.some((o) => o.networks.has(key(w))))
    return fresh >= 0 ? fresh : 0
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
    const worker = new Worker(WORKER_ENTRY, { execArgv: [], workerData: { maxSessions, graphOptimizationLevel: this.optimizationLevel } })
    const pw: PoolWorker = { worker, inFlight: 0, networks: new RecentKeys(maxSessions) }
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

  private send(owner: PoolWorker, net: Network, params: SharedArrayBuffer, task: InnerTask, opts: InnerLoopOptions): Promise<StepResult> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.disposed) return Promise.reject(EngineDisposed())
    owner.networks.add(networkKey(net))
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

  /**
   * The network's SharedArrayBuffer-backed parameters, refreshed from `params`. A network already
   * `claimed` in this run (its buffer may still be read by a worker) gets a buffer of its own.
   */
  private sharedParams(net: Network, params: Float32Array, claimed?: Set<string>): SharedArrayBuffer {
    const key = networkKey(net)
    if (claimed?.has(key)) return copyToShared(params)
    claimed?.add(key)
    let view = this.shared.get(key)
    if (!view || view.length !== params.length) {
      view = new Float32Array(new SharedArrayBuffer(params.length * Float32Array.BYTES_PER_ELEMENT))
      this.shared.set(key, view)
    }
    view.set(params)
    return view.buffer as SharedArrayBuffer
  }
}
