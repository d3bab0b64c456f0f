/**
 * The agent measures in worker processes and survives them: a worker killed mid-job is replaced
 * once (the job goes on with what is missing) and then the job FAILS with the reason, while the
 * agent keeps serving jobs; cancel ends the worker; the daemon never loads ONNX Runtime.
 */
import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { encodeMessage, PROTOCOL_VERSION } from '@fleetnas/shared'
import { startAgent, type RunningAgent } from './agent.ts'
import { BLOCKS, FAST, fakeController, inventory, job, startBroker, tmp, until } from './testing/agent-harness.ts'

const broker = await startBroker()
t.teardown(() => broker.close())
const DEVICE = 'worker-dev'
const SLOW = { ...FAST, minTimeMs: 300, maxRuns: 1000000 }

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGKILLs the measure worker of `jobId` after its first block measurement, `times` times. */
function killWorkerAfterFirstBlock(agent: RunningAgent, jobId: string, times: number): number[] {
  const killed: number[] = []
  agent.events.on('measurement', (m) => {
    const pid = agent.stats().workerPid
    if (m.kind !== 'block' || pid === undefined || killed.includes(pid) || killed.length >= times || agent.stats().currentJob !== jobId) return
    killed.push(pid)
    process.kill(pid, 'SIGKILL')
  })
  return killed
}

async function setup(t: Test, worker: { retries?: number; cancelGraceMs?: number } = {}) {
  const ctl = await fakeController(broker.url, DEVICE, true)
  t.teardown(() => ctl.client.endAsync())
  const agent = await startAgent(
    { broker: broker.url, stateDir: await tmp(t), deviceId: DEVICE, logLevel: 'silent' },
    { inventory, window: 1, batch: { maxBatch: 1, maxDelayMs: 50 }, worker },
  )
  t.teardown(() => agent.stop())
  await until(agent, ctl, () => agent.stats().connected, 'connected')
  return { ctl, agent }
}
t.test('a worker SIGKILLed mid-job is replaced once; the job finishes with every block exactly once', async (t) => {
  const { ctl, agent } = await setup(t)
  const killed = killWorkerAfterFirstBlock(agent, 'job-crash-once', 1)
  await ctl.send(encodeMessage('jobs', job('job-crash-once', BLOCKS, { settings: SLOW })))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-crash-once' && ['SUCCEEDED', 'FAILED'].includes(s.state)), 'job-crash-once finished')
  t.equal(killed.length, 1)
  t.equal(ctl.states.at(-1)?.state, 'SUCCEEDED')
  t.match(ctl.states.at(-1), { progress: { done: 5, total: 5 } })
  const blocks = ctl.results.flatMap((r) => r.measurements).filter((m) => m.kind === 'block').map((m) => m.key)
  t.same([...blocks].sort(), [...BLOCKS].sort(), 'each block once: the fresh worker skipped what was already on disk')
})

t.test('a worker that keeps dying: the job FAILS with the reason, the agent stays up and runs the next job', async (t) => {
  const { ctl, agent } = await setup(t, { retries: 0 })
  const killed = killWorkerAfterFirstBlock(agent, 'job-crash', 1)
  await ctl.send(encodeMessage('jobs', job('job-crash', BLOCKS, { settings: SLOW })))
  await ctl.send(encodeMessage('jobs', job('job-after-crash', BLOCKS.slice(0, 2))))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-after-crash' && s.state === 'SUCCEEDED'), 'the next job SUCCEEDED')
  t.equal(killed.length, 1)
  const failed = ctl.states.find((s) => s.jobId === 'job-crash' && s.state === 'FAILED')
  t.match(failed, { reason: /measurement worker was killed \(SIGKILL/ })
  t.ok(failed!.progress!.total === 5 && failed!.progress!.done < 5, `progress: ${JSON.stringify(failed!.progress)}`)
  const kept = ctl.results.filter((r) => r.jobId === 'job-crash').flatMap((r) => r.measurements).filter((m) => m.kind === 'block')
  t.ok(kept.length >= 1, `${kept.length} block(s) measured before the kill are kept and reported`)
  t.ok(agent.stats().connected)
  t.equal(agent.stats().workerPid, undefined, 'no worker left when idle')
})

t.test('cancel ends the worker process; the job is CANCELED', async (t) => {
  const { ctl, agent } = await setup(t, { cancelGraceMs: 500 })
  const exited: { pid: number; signal: string | null }[] = []
  agent.events.on('worker', (e) => void (e.state === 'exited' && exited.push(e)))
  await ctl.send(encodeMessage('jobs', job('job-cancel', BLOCKS, { settings: { ...FAST, minTimeMs: 5000, maxRuns: 1000000 } })))
  await until(agent, ctl, () => agent.stats().workerPid !== undefined && ctl.states.some((s) => s.jobId === 'job-cancel' && s.state === 'IN_PROGRESS'), 'worker running')
  const pid = agent.stats().workerPid!
  await ctl.send(encodeMessage('jobs', { v: PROTOCOL_VERSION, type: 'cancel', jobId: 'job-cancel', time: new Date().toISOString() }))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-cancel' && s.state === 'CANCELED'), 'job CANCELED', 10000)
  t.ok(exited.some((e) => e.pid === pid), 'the worker exited')
  t.notOk(alive(pid), 'the worker process is gone')
})

t.test('the daemon process never loads ONNX Runtime (it runs in the workers)', async (t) => {
  const { ctl, agent } = await setup(t)
  await ctl.send(encodeMessage('jobs', job('job-maps', BLOCKS.slice(0, 1))))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-maps' && s.state === 'SUCCEEDED'), 'job SUCCEEDED')
  t.match(ctl.info(), { runtimes: [{ name: 'onnxruntime', backends: ['cpu'] }] }, 'execution providers probed in a worker')
  const maps = await readFile('/proc/self/maps', 'utf8')
  t.notMatch(maps, /onnxruntime/, 'no libonnxruntime mapped in this process')
})
