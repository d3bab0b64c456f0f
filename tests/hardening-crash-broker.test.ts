/**
 * b) mosquitto (shipped config, persistence on) SIGKILLed mid-campaign and started again on the same
 * port and database. A SIGKILL loses what the broker held in memory since its last autosave (queued
 * results, acks, maybe the sessions themselves), so recovery rests on the protocol: the controller
 * re-subscribes when its session is gone, the agent republishes its status and keeps unacknowledged
 * batches on disk and resends them. The campaign must end SUCCEEDED with every block stored once.
 */
import t from 'tap'
import type { CampaignView } from '../controller/src/index.ts'
import { mosquittoSkipReason, startMosquitto } from './helpers/mosquitto.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'
import { assertStoredOnce, startControllerProcess } from './helpers/controller-process.ts'

const BLOCKS = 40
const SETTINGS = { warmupRuns: 1, minRuns: 5, minTimeMs: 100, maxCv: 1, rounds: 1, referenceEvery: 0 }
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED']

t.test('b) mosquitto SIGKILLed and restarted mid-campaign: nothing lost, nothing doubled', { skip: mosquittoSkipReason() }, async (t) => {
  const dir = await tempDir('fleetnas-hardening-broker-')
  t.teardown(dir.remove)
  const users = { 'fleetnas-controller': 'ctl-secret', 'dev-m': 'dev-m-secret' }
  const broker = await startMosquitto({ users, persistenceDir: `${dir.path}/mosquitto` })
  t.teardown(broker.stop)
  const dataDir = `${dir.path}/controller`
  const ctl = await startControllerProcess({ dataDir, broker: broker.url, brokerUsername: 'fleetnas-controller', brokerPassword: users['fleetnas-controller'], apiToken: 'crash-broker-token' })
  t.teardown(ctl.stop)
  const agent = spawnAgent([
    '--broker', broker.url, '--username', 'dev-m', '--password', users['dev-m'], '--state-dir', `${dir.path}/agent`,
    '--device-id', 'dev-m', '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'info',
  ])
  t.teardown(() => agent.stop())
  const context = () => `controller:\n${ctl.output().slice(-4000)}\nagent:\n${agent.output().slice(-4000)}\nbroker:\n${broker.log().slice(-3000)}`
  await waitOnline(ctl.api, ['dev-m'])
  const { id } = await ctl.api.post<{ id: string }>('/v1/campaigns', {
    name: 'crash-broker', searchSpace: 'default', sample: BLOCKS, seed: 13, targets: { devices: ['dev-m'] }, runtimes: ['onnxruntime'], settings: SETTINGS,
  })
  await waitCampaign(ctl.api, id, (c) => c.progress.succeeded >= 1, 'the first results stored', 90_000)

  await broker.kill()
  const health = async () => (await fetch(`${ctl.httpUrl}/healthz`)).status
  await until('the controller to see the broker gone (healthz 503)', async () => ((await health()) === 503 ? true : undefined), 20_000, 100)
  const atKill = (await ctl.api.get<CampaignView>(`/v1/campaigns/${id}`)).progress.succeeded
  await broker.restart()
  await until('the controller session back (healthz 200)', async () => ((await health()) === 200 ? true : undefined), 30_000, 100)

  let done: CampaignView
  try {
    done = await waitCampaign(ctl.api, id, (c) => TERMINAL.includes(c.state), 'the campaign to finish after the broker restart', 150_000)
  } catch (e) {
    throw new Error(`${(e as Error).message}\ncampaign: ${JSON.stringify(await ctl.api.get(`/v1/campaigns/${id}`))}\n${context()}`)
  }
  t.ok(atKill < BLOCKS, `the broker died mid-campaign (${atKill} of ${BLOCKS} stored)`)
  t.match(done.executions[0], { state: 'SUCCEEDED', attempts: 1, retries: 0 }, 'the same job finished, no retry')
  await assertStoredOnce(t, { api: ctl.api, dataDir, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })
})
