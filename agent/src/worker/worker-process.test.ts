/**
 * The measurement worker as the daemon drives it: real child processes, real ONNX Runtime.
 * measure -> measurements, progress, result; probe -> runtimes (+ inventory); SIGKILL -> WorkerDied;
 * cancel -> MeasureCanceled, with SIGKILL for a worker that does not stop by itself.
 */
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { isFleetnasError, type Measurement } from '@fleetnas/shared'
import { MeasureCanceled, WorkerDied } from '../errors.ts'
import { loadProfiles } from '../profiles.ts'
import { DEFAULT_PROFILES_DIR } from '../config.ts'
import { BLOCKS, FAST, job } from '../testing/agent-harness.ts'
import { measureInWorker, probeInWorker, type WorkerEvent } from './worker-process.ts'
import type { MeasureRequest } from './messages.ts'

const profile = (await loadProfiles(DEFAULT_PROFILES_DIR)).find((p) => p.id === 'x86-64')!
const request = (extra: Partial<MeasureRequest> = {}): MeasureRequest => ({ job: job('w-1'), skip: [], settings: FAST, window: 2, profile, ...extra })
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('a job measured in a worker: measurements in order, progress, result; the worker exits', async (t) => {
  const ms: Measurement[] = []
  const progress: number[] = []
  const events: WorkerEvent[] = []
  const result = await measureInWorker(
    request({ skip: [BLOCKS[4]] }),
    { onMeasurement: (m) => void ms.push(m), onProgress: (done) => void progress.push(done) },
    undefined,
    { onWorker: (e) => void events.push(e) },
  )
  t.equal(result.measured, 4)
  t.same(ms.filter((m) => m.kind === 'block').map((m) => m.key).sort(), BLOCKS.slice(0, 4).sort(), 'every block but the skipped one')
  t.ok(ms.some((m) => m.kind === 'empty'), 'empty-graph overhead measured too')
  t.ok(ms.every((m) => m.runtime === 'onnxruntime' && m.threads === 1))
  // A block's median has its overhead subtracted (a tiny head can come out at 0); what was timed is not 0.
  t.ok(ms.every((m) => m.medianMs >= 0 && m.medianMs + (m.overheadMs ?? 0) > 0), 'every time plausible')
  t.same(progress, [0, 1, 2, 3, 4], 'windows of 2 slots: one block beside the empty graph of its shape')
  t.match(events, [{ state: 'started', purpose: 'measure', jobId: 'w-1' }, { state: 'exited', code: 0, signal: null }])
  t.notOk(alive(events[0].pid), 'the worker is gone')
})

t.test('probe: runtimes with their execution providers, and the inventory when asked', async (t) => {
  const probed = await probeInWorker(true)
  t.match(probed.runtimes.find((r) => r.name === 'onnxruntime'), { version: /^\d+\.\d+/, backends: ['cpu'] })
  t.same(probed.problems, [])
  t.ok(probed.inventory && probed.inventory.cores > 0 && probed.inventory.cpuModel.length > 0)
  t.equal((await probeInWorker(false)).inventory, undefined)
})

t.test('a worker killed with SIGKILL mid-job: WorkerDied with how it ended; what it sent is kept', async (t) => {
  const ms: Measurement[] = []
  let pid = 0
  const err = await measureInWorker(
    request({ settings: { ...FAST, minTimeMs: 300, maxRuns: 1000000 } }),
    {
      onMeasurement: (m) => {
        ms.push(m)
        if (m.kind === 'block' && pid) process.kill(pid, 'SIGKILL')
      },
      onProgress: () => undefined,
    },
    undefined,
    { onWorker: (e) => void (e.state === 'started' && (pid = e.pid)) },
  ).catch((e: unknown) => e)
  t.ok(isFleetnasError(err, WorkerDied.code), String(err))
  t.match((err as Error).message, /killed \(SIGKILL/)
  t.ok(ms.some((m) => m.kind === 'block'), 'measurements sent before the kill arrived')
})

t.test('cancel: the worker stops by itself and exits; the call rejects with MeasureCanceled', async (t) => {
  const abort = new AbortController()
  const events: WorkerEvent[] = []
  const err = await measureInWorker(
    request({ settings: { ...FAST, minTimeMs: 2000, maxRuns: 1000000 } }),
    { onMeasurement: () => undefined, onProgress: () => abort.abort('test cancel') },
    abort.signal,
    { onWorker: (e) => void events.push(e), cancelGraceMs: 20000 },
  ).catch((e: unknown) => e)
  t.ok(isFleetnasError(err, MeasureCanceled.code), String(err))
  t.match(events.at(-1), { state: 'exited', code: 0, signal: null }, 'exited on its own, no SIGKILL needed')
})

t.test('cancel: a worker that ignores it is killed after the grace period', async (t) => {
  const abort = new AbortController()
  const events: WorkerEvent[] = []
  const started = performance.now()
  const err = await measureInWorker(
    request(),
    { onMeasurement: () => undefined, onProgress: () => abort.abort('test cancel') },
    abort.signal,
    { onWorker: (e) => void events.push(e), cancelGraceMs: 300, entry: fileURLToPath(new URL('../testing/stubborn-worker.mjs', import.meta.url)) },
  ).catch((e: unknown) => e)
  t.ok(isFleetnasError(err, MeasureCanceled.code), String(err))
  t.match(events.at(-1), { state: 'exited', signal: 'SIGKILL' })
  t.ok(performance.now() - started >= 300, 'not before the grace period')
})

t.test('a worker that cannot start: WorkerDied, not a crash of the caller', async (t) => {
  const err = await probeInWorker(false, { entry: '/nonexistent/fleetnas-worker.js' }).catch((e: unknown) => e)
  t.ok(isFleetnasError(err, WorkerDied.code), String(err))
  t.match((err as Error).message, /exited with code 1/)
})
