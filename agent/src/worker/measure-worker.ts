/**
 * The measurement worker: runs in a child process of the daemon (bin/measure-worker.js registers tsx
 * and imports this), so ONNX Runtime and tfjs live and die here, never in the daemon. It serves one
 * request (measure or probe; see messages.ts), then exits. When the daemon goes away (the IPC
 * channel closes), it exits at once: an orphan must not keep measuring.
 */
import { isFleetnasError } from '@fleetnas/shared'
import { environmentReader } from '../environment.ts'
import { jobTargets } from '../job-targets.ts'
import { measureTargets } from '../measure.ts'
import { tfjsInfo } from '../runtimes.ts'
import type { DaemonToWorker, MeasureRequest, ProbeResult, WorkerToDaemon } from './messages.ts'

if (!process.send) {
  process.stderr.write('measure-worker: started without an IPC channel; it is started by the agent, not by hand\n')
  process.exit(2)
}

const abort = new AbortController()
let served = false

/** Sends in order; resolves once the message is handed to the channel. */
function send(message: WorkerToDaemon): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve()
    process.send!(message, undefined, {}, () => resolve())
  })
}

async function measure(req: MeasureRequest): Promise<WorkerToDaemon> {
  // Loaded here, not at the top: a probe of a broken install still answers.
  const { createRunner } = await import('../runners/index.ts')
  const runner = await createRunner(req.job.runtime, { threads: req.job.threads })
  try {
    const { targets } = jobTargets(req.job, new Set(req.skip))
    const result = await measureTargets({
      runner,
      settings: req.settings,
      targets,
      seed: req.job.jobId,
      window: req.window,
      signal: abort.signal,
      readEnvironment: environmentReader(req.profile),
      onMeasurement: (measurement) => void send({ type: 'measurement', measurement }),
      onProgress: (done, total) => void send({ type: 'progress', done, total }),
    })
    return { type: 'done', result }
  } finally {
    await runner.dispose()
  }
}

async function probe(withInventory: boolean): Promise<ProbeResult> {
  const out: ProbeResult = { runtimes: [], problems: [] }
  try {
    const { createOnnxRuntimeRunner } = await import('../runners/onnxruntime-runner.ts')
    out.runtimes.push(createOnnxRuntimeRunner({ threads: 1 }).info())
  } catch (e) {
    out.problems.push(`onnxruntime: ${(e as Error).message}`)
  }
  const tf = tfjsInfo()
  if (tf) out.runtimes.push(tf)
  if (withInventory) {
    const { collectInventory } = await import('../inventory.ts')
    out.inventory = await collectInventory()
  }
  return out
}

async function serve(msg: DaemonToWorker): Promise<void> {
  if (msg.type === 'cancel') {
    abort.abort(msg.reason)
    return
  }
  if (served) return
  served = true
  let reply: WorkerToDaemon
  try {
    reply = msg.type === 'probe' ? { type: 'probed', ...(await probe(msg.inventory)) } : await measure(msg)
  } catch (e) {
    reply = { type: 'failed', message: (e as Error)?.message ?? String(e) }
    if (isFleetnasError(e)) reply.code = e.code
  }
  await send(reply)
  process.exit(0)
}

process.on('message', (msg: DaemonToWorker) => void serve(msg))
process.on('disconnect', () => process.exit(0))
