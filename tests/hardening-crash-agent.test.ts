/**
 * Agent-side failures during a campaign, on real parts (controller with its embedded broker and
 * SQLite, agent processes measuring with ONNX Runtime). Each case must end with the campaign
 * SUCCEEDED and every block stored exactly once:
 * c) the agent is SIGKILLed mid-job and restarted on the same state dir: its outbox is resent and the
 *    job resumes where it stopped (same job, no retry);
 * d) the agent's network is cut (a TCP proxy drops its connection and refuses new ones) for a while,
 *    then healed: the device goes offline (Last Will), comes back, and the job finishes.
 */
import t, { type Test } from 'tap'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { pino } from 'pino'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import type { CampaignView } from '../controller/src/index.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'
import { assertStoredOnce } from './helpers/controller-process.ts'
import { startProxy } from './helpers/proxy.ts'

const BLOCKS = 40
// Slow enough that a kill lands mid-job (about 100 ms per block), fast enough for the time budget.
const SETTINGS = { warmupRuns: 1, minRuns: 5, minTimeMs: 100, maxCv: 1, rounds: 1, referenceEvery: 0 }
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED']

const agentArgs = (broker: string, id: string, stateDir: string) => [
  '--broker', broker, '--state-dir', stateDir, '--device-id', id, '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'info',
]

async function setup(t: Test) {
  const dir = await tempDir('fleetnas-hardening-agent-')
  t.teardown(dir.remove)
  const dataDir = `${dir.path}/controller`
  const ctl = await startController(
    { dataDir, httpPort: 0, mqttPort: 0, insecure: true, schedulerIntervalMs: 200 },
    { logger: pino({ level: process.env.FLEETNAS_TEST_LOG ?? 'silent' }), env: {} },
  )
  t.teardown(() => ctl.stop())
  return { dir: dir.path, dataDir, ctl, api: new ApiClient({ api: ctl.httpUrl }) }
}

const campaign = (api: ApiClient, device: string) =>
  api.post<{ id: string }>('/v1/campaigns', {
    name: `crash-${device}`, searchSpace: 'default', sample: BLOCKS, seed: 7, targets: { devices: [device] }, runtimes: ['onnxruntime'], settings: SETTINGS,
  })

/** Waits for the campaign to end; on a timeout the error carries the campaign and `context()`. */
async function finished(api: ApiClient, id: string, what: string, timeoutMs: number, context: () => string): Promise<CampaignView> {
  try {
    return await waitCampaign(api, id, (c) => TERMINAL.includes(c.state), what, timeoutMs)
  } catch (e) {
    const view = await api.get(`/v1/campaigns/${id}`).catch(() => undefined)
    const metrics = (await api.requestText('GET', '/metrics').catch(() => '')).split('\n').filter((l) => /^fleetnas_(mqtt_rejected|result_batches|measurements)/.test(l))
    throw new Error(`${(e as Error).message}\ncampaign: ${JSON.stringify(view)}\nmetrics:\n${metrics.join('\n')}\n${context()}`)
  }
}

const progressAtLeast = (api: ApiClient, id: string, n: number) =>
  waitCampaign(api, id, (c) => c.progress.succeeded >= n || TERMINAL.includes(c.state), `at least ${n} blocks stored`, 90_000)

t.test('c) agent SIGKILLed mid-job, restarted on the same state dir: outbox resent, job resumed, each block once', async (t) => {
  const { dir, dataDir, ctl, api } = await setup(t)
  // Through a proxy, so the link can be cut while the agent runs: results then pile up in its outbox
  // unacknowledged, and the kill leaves them on disk for the next run to resend.
  const proxy = await startProxy({ port: Number(new URL(ctl.mqttUrl).port) })
  t.teardown(proxy.close)
  const stateDir = `${dir}/agent`
  const args = agentArgs(proxy.url, 'crash-agent', stateDir)
  const first = spawnAgent(args)
  t.teardown(() => first.stop())
  await waitOnline(api, ['crash-agent'])
  const { id } = await campaign(api, 'crash-agent')
  const midway = await progressAtLeast(api, id, 1)
  t.equal(midway.state, 'IN_PROGRESS', 'killed while the campaign runs')

  proxy.cutOff()
  const jobId = `${id}-e1-a1`
  // Batch files only: a kill mid-write may also leave a temp file, which the next run sweeps.
  const outboxFiles = async () => (await readdir(path.join(stateDir, 'outbox', jobId)).catch(() => [] as string[])).filter((f) => /^\d+\.json$/.test(f))
  await until('a result batch in the outbox, unacknowledged', async () => ((await outboxFiles()).length > 0 ? true : undefined), 30_000, 100)
  await first.stop('SIGKILL')
  const pendingAtKill = (await outboxFiles()).length
  const atKill = (await api.get<CampaignView>(`/v1/campaigns/${id}`)).progress.succeeded
  t.ok(atKill < BLOCKS, `killed mid-job (${atKill} of ${BLOCKS} stored, ${pendingAtKill} batch(es) in the outbox)`)
  proxy.heal()

  const second = spawnAgent(args)
  t.teardown(() => second.stop())
  const context = () => `first run:\n${first.output().slice(-3000)}\nsecond run:\n${second.output().slice(-3000)}`
  const done = await finished(api, id, 'the campaign to finish after the restart', 40_000, context)
  const start = /"pending":(\d+)[^\n]*"msg":"agent starting"/.exec(second.output())
  t.equal(Number(start?.[1]), pendingAtKill, 'the restarted agent found the unacknowledged batches on disk')
  t.ok(/resuming job after restart/.test(second.output()), 'the restarted agent resumed its job from disk')
  await until('the resent batches acknowledged', async () => ((await outboxFiles()).length === 0 ? true : undefined), 30_000, 200)
  t.match(done.executions[0], { state: 'SUCCEEDED', attempts: 1, retries: 0 }, 'the same job finished: no retry was needed')
  await assertStoredOnce(t, { api, dataDir, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })
})

t.test('d) agent cut off by the network for a while, then healed: offline, back online, each block once', async (t) => {
  const { dir, dataDir, ctl, api } = await setup(t)
  const proxy = await startProxy({ port: Number(new URL(ctl.mqttUrl).port) })
  t.teardown(proxy.close)
  const agent = spawnAgent(agentArgs(proxy.url, 'cut-agent', `${dir}/agent`))
  t.teardown(() => agent.stop())
  await waitOnline(api, ['cut-agent'])
  const { id } = await campaign(api, 'cut-agent')
  await progressAtLeast(api, id, 1)

  proxy.cutOff()
  const deviceStatus = async () => (await api.get<{ id: string; status: string }[]>('/v1/devices')).find((d) => d.id === 'cut-agent')?.status
  await until('the broker to notice (Last Will: offline)', async () => ((await deviceStatus()) === 'offline' ? true : undefined), 20_000)
  // Stay cut until the agent has tried (and failed) to reconnect at least twice.
  await until('reconnect attempts to be refused', () => (proxy.refused >= 2 ? true : undefined), 30_000, 50)
  const duringCut = (await api.get<CampaignView>(`/v1/campaigns/${id}`)).progress.succeeded
  proxy.heal()
  await until('the device back online', async () => ((await deviceStatus()) === 'online' ? true : undefined), 60_000)

  const context = () => `agent:\n${agent.output().slice(-4000)}`
  const done = await finished(api, id, 'the campaign to finish after the heal', 150_000, context)
  t.ok(duringCut < BLOCKS, `cut mid-job (${duringCut} of ${BLOCKS} stored while cut)`)
  t.match(done.executions[0], { state: 'SUCCEEDED', attempts: 1, retries: 0 }, 'the same job finished over the healed link')
  t.ok(proxy.forwarded >= 2, `the agent reconnected through the proxy (${proxy.forwarded} connections, ${proxy.refused} refused)`)
  await assertStoredOnce(t, { api, dataDir, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })
})
