/**
 * The daemon's side of the measurement worker: starts one child process per request
 * (child_process.fork of bin/measure-worker.js), relays what it sends, and turns every way it can
 * end into a value:
 *   - `done` then exit             -> the MeasureLoopResult
 *   - `failed` then exit           -> the error, rebuilt with its code (MeasureCanceled stays one)
 *   - canceled (AbortSignal)       -> `cancel` over IPC; SIGKILL after `cancelGraceMs`; MeasureCanceled
 *   - exit without a reply         -> WorkerDied (signal, exit code, possible OOM, stderr tail)
 * The worker's stdout and stderr go to the daemon's stderr (and the tail into the WorkerDied reason).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { FleetnasError, type Measurement } from '@fleetnas/shared'
import { MeasureCanceled, WorkerDied } from '../errors.ts'
import type { MeasureLoopResult } from '../measure.ts'
import { WORKER_ENTRY } from '../paths.ts'
import type { DaemonToWorker, MeasureRequest, ProbeResult, WorkerToDaemon } from './messages.ts'

export { WORKER_ENTRY } from '../paths.ts'

export interface WorkerOptions {
  /** After a cancel, how long the worker may take to stop by itself before SIGKILL (default 3000 ms). */
  cancelGraceMs?: number
  /** Told when a worker starts and when it has exited (tests, logs). */
  onWorker?: (event: WorkerEvent) => void
  /** Entry script (tests start a misbehaving one). */
  entry?: string
}

export type WorkerEvent =
  | { state: 'started'; pid: number; purpose: 'measure' | 'probe'; jobId?: string }
  | { state: 'exited'; pid: number; code: number | null; signal: NodeJS.Signals | null }

export interface MeasureCallbacks {
  onMeasurement(m: Measurement): void
  onProgress(done: number, total: number): void
}

const TAIL_BYTES = 1500

interface Started {
  child: ChildProcess
  tail(): string
}

function start(o: WorkerOptions, first: DaemonToWorker): Started {
  const child = fork(o.entry ?? WORKER_ENTRY, [], {
    // Not the daemon's flags (a test runner's --import, --inspect): the entry registers tsx itself.
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  })
  let tail = ''
  const keep = (chunk: Buffer) => {
    process.stderr.write(chunk)
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  child.send(first, (err) => {
    // The worker died before reading its request: its exit handler reports it.
    if (err) child.kill('SIGKILL')
  })
  if (child.pid !== undefined) {
    o.onWorker?.({ state: 'started', pid: child.pid, purpose: first.type === 'probe' ? 'probe' : 'measure', jobId: first.type === 'measure' ? first.job.jobId : undefined })
    const pid = child.pid
    child.once('exit', (code, signal) => o.onWorker?.({ state: 'exited', pid, code, signal }))
  }
  return { child, tail: () => tail.trim().split('\n').slice(-5).join(' | ') }
}

/** How a worker that never replied ended, in words a user can act on. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'was killed (SIGKILL; out of memory, or killed by hand)'
  if (signal === 'SIGABRT' || code === 134) return 'aborted (SIGABRT; a native crash or V8 out of memory)'
  if (signal) return `was ended by ${signal}`
  return `exited with code ${code} before finishing`
}

/** Runs one request in a fresh worker; resolves with its reply, rejects with a coded error. */
function runWorker<T>(
  request: DaemonToWorker,
  o: WorkerOptions,
  onMessage: (msg: WorkerToDaemon) => { reply: T } | { error: Error } | undefined,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { child, tail } = start(o, request)
    let outcome: { reply: T } | { error: Error } | undefined
    let killTimer: NodeJS.Timeout | undefined
    let spawnError: Error | undefined
    const onAbort = () => {
      if (child.connected) child.send({ type: 'cancel', reason: String(signal?.reason ?? 'canceled') } satisfies DaemonToWorker, () => undefined)
      killTimer = setTimeout(() => child.kill('SIGKILL'), o.cancelGraceMs ?? 3000)
    }
    child.on('message', (msg: WorkerToDaemon) => {
      outcome ??= onMessage(msg)
    })
    child.on('error', (e) => {
      spawnError ??= e
      child.kill('SIGKILL')
    })
    child.once('exit', (code, sig) => {
      clearTimeout(killTimer)
      signal?.removeEventListener('abort', onAbort)
      if (outcome && 'reply' in outcome) resolve(outcome.reply)
      else if (outcome) reject(outcome.error)
      else if (signal?.aborted) reject(MeasureCanceled(String(signal.reason ?? 'canceled')))
      else reject(WorkerDied(spawnError ? `could not run (${spawnError.message})` : describeExit(code, sig), tail()))
    })
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function workerError(msg: WorkerToDaemon & { type: 'failed' }): Error {
  if (msg.code === MeasureCanceled.code) return MeasureCanceled(msg.message.replace(/^measurement stopped: /, ''))
  return msg.code ? new FleetnasError(msg.code, msg.message) : new Error(msg.message)
}

/**
 * Measures `request` in a fresh worker. Measurements and progress arrive through `cb` as the worker
 * sends them; aborting `signal` cancels (then kills) the worker and rejects with MeasureCanceled.
 */
export function measureInWorker(request: MeasureRequest, cb: MeasureCallbacks, signal?: AbortSignal, o: WorkerOptions = {}): Promise<MeasureLoopResult> {
  return runWorker<MeasureLoopResult>(
    { type: 'measure', ...request },
    o,
    (msg) => {
      switch (msg.type) {
        case 'measurement':
          cb.onMeasurement(msg.measurement)
          return undefined
        case 'progress':
          cb.onProgress(msg.done, msg.total)
          return undefined
        case 'done':
          return { reply: msg.result }
        case 'failed':
          return { error: workerError(msg) }
        default:
          return undefined
      }
    },
    signal,
  )
}

/** Loads the runtimes (and collects the inventory) in a short-lived worker; bounded by `timeoutMs`. */
export function probeInWorker(withInventory: boolean, o: WorkerOptions & { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 60000)
  return runWorker<ProbeResult>(
    { type: 'probe', inventory: withInventory },
    { ...o, cancelGraceMs: 0 },
    (msg) => {
      if (msg.type === 'probed') return { reply: { runtimes: msg.runtimes, inventory: msg.inventory, problems: msg.problems } }
      if (msg.type === 'failed') return { error: workerError(msg) }
      return undefined
    },
    timeout,
  )
}
