/**
 * The real executable as bench/profiling.ts and the deployment run it (`node bin/fleetnas-agent.js`,
 * no NODE_OPTIONS): it loads its sources without tsx's ESM loader thread, never maps ONNX Runtime
 * (jobs are measured in worker processes), and stays within the idle memory target.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { encodeMessage } from '@fleetnas/shared'
import { BLOCKS, fakeController, job, startBroker, tmp, until } from './testing/agent-harness.ts'

const BIN = fileURLToPath(new URL('../bin/fleetnas-agent.js', import.meta.url))
/** bench/profiling.ts's target for the idle agent. */
const IDLE_RSS_TARGET_MB = 120

t.test('daemon: no ONNX Runtime mapped, within the RSS target, after a job measured in a worker', async (t) => {
  const broker = await startBroker()
  t.teardown(() => broker.close())
  const device = 'daemon-dev'
  const ctl = await fakeController(broker.url, device, true)
  t.teardown(() => ctl.client.endAsync())
  const env = { ...process.env }
  delete env.NODE_OPTIONS // the test runner's loaders are not the daemon's
  const args = ['--broker', broker.url, '--state-dir', await tmp(t), '--device-id', device, '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'warn']
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = once(child, 'exit')
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')))

  await until(undefined, ctl, () => ctl.statuses.some((s) => s.deviceId === device && s.state === 'online'), 'online', 60000)
  await ctl.send(encodeMessage('jobs', job('job-daemon', BLOCKS.slice(0, 3))))
  await until(undefined, ctl, () => ctl.states.some((s) => s.jobId === 'job-daemon' && s.state === 'SUCCEEDED'), 'job SUCCEEDED', 60000)
  t.equal(ctl.results.flatMap((r) => r.measurements).filter((m) => m.kind === 'block').length, 3)

  const maps = await readFile(`/proc/${child.pid}/maps`, 'utf8')
  t.notMatch(maps, /onnxruntime|tfjs|tensorflow/, 'no runtime library mapped in the daemon')
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
  const rssMB = (Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]) * 1024) / 1e6
  t.ok(rssMB <= IDLE_RSS_TARGET_MB, `VmRSS ${rssMB.toFixed(1)} MB <= ${IDLE_RSS_TARGET_MB} MB`)
  t.notMatch(stderr, /loading as CommonJS failed/, 'sources loaded through the in-thread hook')

  child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0, 'graceful stop')
})
