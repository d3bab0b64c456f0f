/**
 * a) The controller process SIGKILLed mid-campaign and started again on the same data dir and ports.
 *
 * - With an external mosquitto (persistence on, the shipped config): the controller's persistent
 *   session (fixed client id, clean=false, QoS 1) makes the broker hold the results published while
 *   the controller is dead and hand them over when it reconnects; the agent never notices.
 * - With the embedded broker: aedes' persistence is in memory and dies with the controller (see
 *   controller/src/mqtt/broker.ts), so nothing is held; the agent reconnects to the new broker and its
 *   on-disk outbox resends what was never acknowledged. The test asserts exactly that: the device is
 *   offline right after the restart (fresh broker) and the results still all arrive.
 *
 * Each ends with the campaign SUCCEEDED and every block stored exactly once.
 */
import t from 'tap'
import mqtt from 'mqtt'
import { controllerSubscriptions } from '@fleetnas/shared'
import type { CampaignView } from '../controller/src/index.ts'
import type { ApiClient } from '../controller/src/cli/api-client.ts'
import { mosquittoSkipReason, startMosquitto } from './helpers/mosquitto.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'
import { assertStoredOnce, startControllerProcess } from './helpers/controller-process.ts'

const BLOCKS = 40
const SETTINGS = { warmupRuns: 1, minRuns: 5, minTimeMs: 100, maxCv: 1, rounds: 1, referenceEvery: 0 }
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED']
const TOKEN = 'crash-controller-token'

const agentArgs = (broker: string, id: string, stateDir: string, creds: string[] = []) => [
  '--broker', broker, ...creds, '--state-dir', stateDir, '--device-id', id, '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'info',
]

const campaign = (api: ApiClient, device: string) =>
  api.post<{ id: string }>('/v1/campaigns', {
    name: `crash-controller-${device}`, searchSpace: 'default', sample: BLOCKS, seed: 11, targets: { devices: [device] }, runtimes: ['onnxruntime'], settings: SETTINGS,
  })

async function finished(api: () => ApiClient, id: string, timeoutMs: number, context: () => string): Promise<CampaignView> {
  try {
    return await waitCampaign(api(), id, (c) => TERMINAL.includes(c.state), 'the campaign to finish after the restart', timeoutMs)
  } catch (e) {
    const view = await api().get(`/v1/campaigns/${id}`).catch(() => undefined)
    throw new Error(`${(e as Error).message}\ncampaign: ${JSON.stringify(view)}\n${context()}`)
  }
}

t.test('a) controller SIGKILLed mid-campaign, external mosquitto with persistence: the broker holds the results', { skip: mosquittoSkipReason() }, async (t) => {
  const dir = await tempDir('fleetnas-hardening-ctl-mosq-')
  t.teardown(dir.remove)
  const users = { 'fleetnas-controller': 'ctl-secret', 'dev-k': 'dev-k-secret' }
  const broker = await startMosquitto({ users })
  t.teardown(broker.stop)
  const dataDir = `${dir.path}/controller`
  const ctl = await startControllerProcess({ dataDir, broker: broker.url, brokerUsername: 'fleetnas-controller', brokerPassword: users['fleetnas-controller'], apiToken: TOKEN })
  t.teardown(ctl.stop)
  const agent = spawnAgent(agentArgs(broker.url, 'dev-k', `${dir.path}/agent`, ['--username', 'dev-k', '--password', users['dev-k']]))
  t.teardown(() => agent.stop())
  const context = () => `controller:\n${ctl.output().slice(-4000)}\nagent:\n${agent.output().slice(-4000)}\nbroker:\n${broker.log().slice(-3000)}`
  await waitOnline(ctl.api, ['dev-k'])
  const { id } = await campaign(ctl.api, 'dev-k')
  await waitCampaign(ctl.api, id, (c) => c.progress.succeeded >= 1, 'the first results stored', 90_000)

  // A watcher (the controller's MQTT user, another client id) sees results go out while the controller is dead.
  const watcher = await mqtt.connectAsync(broker.url, { username: 'fleetnas-controller', password: users['fleetnas-controller'], clientId: 'crash-watcher', reconnectPeriod: 0 })
  t.teardown(() => watcher.endAsync(true))
  let publishedWhileDown = 0
  watcher.on('message', (topic) => topic.endsWith('/results') && publishedWhileDown++)
  await ctl.kill()
  await watcher.subscribeAsync(controllerSubscriptions[3], { qos: 1 })
  const atKill = (await until('a results batch published while the controller is dead', () => (publishedWhileDown > 0 ? publishedWhileDown : undefined), 60_000, 100))

  await ctl.restart()
  const done = await finished(() => ctl.api, id, 120_000, context)
  t.ok(atKill > 0, `${atKill} batch(es) went out while the controller was dead`)
  t.match(done.executions[0], { state: 'SUCCEEDED', attempts: 1, retries: 0 }, 'the same job finished, no retry')
  // The agent resends unacknowledged batches only after 60 s; finishing sooner means the broker delivered them.
  t.notMatch(agent.output(), /disconnected; reconnecting/, 'the agent never lost its broker')
  await assertStoredOnce(t, { api: ctl.api, dataDir, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })
})

t.test('a) controller SIGKILLed mid-campaign, embedded broker: no broker persistence, the agent outbox resends', async (t) => {
  const dir = await tempDir('fleetnas-hardening-ctl-embedded-')
  t.teardown(dir.remove)
  const dataDir = `${dir.path}/controller`
  const ctl = await startControllerProcess({ dataDir, insecure: true })
  t.teardown(ctl.stop)
  const agent = spawnAgent(agentArgs(ctl.mqttUrl, 'dev-e', `${dir.path}/agent`))
  t.teardown(() => agent.stop())
  const context = () => `controller:\n${ctl.output().slice(-4000)}\nagent:\n${agent.output().slice(-4000)}`
  await waitOnline(ctl.api, ['dev-e'])
  const { id } = await campaign(ctl.api, 'dev-e')
  await waitCampaign(ctl.api, id, (c) => c.progress.succeeded >= 1, 'the first results stored', 90_000)

  await ctl.kill()
  await until('the agent to notice the broker is gone', () => (/disconnected; reconnecting/.test(agent.output()) ? true : undefined), 20_000, 100)
  await ctl.restart()
  const device = (await ctl.api.get<{ id: string; status: string }[]>('/v1/devices')).find((d) => d.id === 'dev-e')
  t.ok(device, 'the device is remembered across the restart (SQLite)')
  const done = await finished(() => ctl.api, id, 150_000, context)
  t.match(done.executions[0], { state: 'SUCCEEDED', attempts: 1, retries: 0 }, 'the same job finished after the agent reconnected, no retry')
  await assertStoredOnce(t, { api: ctl.api, dataDir, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })
})
