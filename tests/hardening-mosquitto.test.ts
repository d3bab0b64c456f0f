/**
 * The production broker path: a real mosquitto with the shipped config and ACL (deploy/mosquitto)
 * and one MQTT user per device; the controller process on it with its own user; two agent
 * processes with their credentials run a whole campaign. Then device A turns forger with a raw
 * mqtt.js client: results, status and a subscription under device B's id are refused by the broker
 * (nothing reaches the controller, nothing is stored), and a payload claiming B's id on A's own
 * topic is rejected by the controller (counted as device_mismatch, nothing stored).
 */
import t from 'tap'
import mqtt from 'mqtt'
import { topics, type Measurement } from '@fleetnas/shared'
import { mosquittoSkipReason, startMosquitto } from './helpers/mosquitto.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'
import { assertStoredOnce, startControllerProcess } from './helpers/controller-process.ts'
import { metricValue, metricsTotal } from './helpers/bad-input.ts'

const BLOCKS = 30
const FAST = { warmupRuns: 1, minRuns: 5, minTimeMs: 2, maxCv: 1, rounds: 1, referenceEvery: 0 }
const CONTROLLER_PW = 'controller-secret-1'
const USERS = { 'fleetnas-controller': CONTROLLER_PW, 'dev-a': 'secret-of-a', 'dev-b': 'secret-of-b' }
const TOKEN = 'hardening-token-1'

t.test('mosquitto with the deploy ACL: a campaign succeeds, a forging device stores nothing', { skip: mosquittoSkipReason() }, async (t) => {
  const dir = await tempDir('fleetnas-hardening-mosq-')
  t.teardown(dir.remove)
  const broker = await startMosquitto({ users: USERS })
  t.teardown(broker.stop)
  const ctl = await startControllerProcess({
    dataDir: `${dir.path}/controller`,
    broker: broker.url,
    brokerUsername: 'fleetnas-controller',
    brokerPassword: CONTROLLER_PW,
    apiToken: TOKEN,
  })
  t.teardown(ctl.stop)
  const api = ctl.api

  // Per-device credentials: with an external broker the controller hands out a secret but says the
  // broker does not check it (its password file does); the agents log in with the broker's users.
  const cred = await api.post<{ username: string; brokerChecksSecret: boolean }>('/v1/devices/dev-a/credentials')
  t.match(cred, { username: 'dev-a', brokerChecksSecret: false }, 'the controller says the external broker checks device secrets, not it')

  const agents = (['dev-a', 'dev-b'] as const).map((id) =>
    spawnAgent([
      '--broker', broker.url, '--username', id, '--password', USERS[id],
      '--state-dir', `${dir.path}/${id}`, '--device-id', id,
      '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'warn',
    ]),
  )
  t.teardown(() => Promise.all(agents.map((a) => a.stop())))
  const context = () => `controller:\n${ctl.output()}\nagents:\n${agents.map((a) => a.output()).join('\n')}\nbroker:\n${broker.log().slice(-4000)}`
  await waitOnline(api, ['dev-a', 'dev-b'], 60_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${context()}`)
  })

  const { id } = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'mosquitto', searchSpace: 'default', sample: BLOCKS, targets: { devices: ['dev-a', 'dev-b'] }, runtimes: ['onnxruntime'], settings: FAST,
  })
  await waitCampaign(api, id, (c) => ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(c.state), 'campaign to finish', 180_000)
  await assertStoredOnce(t, { api, dataDir: `${dir.path}/controller`, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })

  // ---- device A forges device B ----
  const before = await api.requestText('GET', '/metrics')
  const lutBefore = await api.get<{ entries: { key: string; medianMs: number; devices: number }[] }>('/v1/luts/x86-64?runtime=onnxruntime&threads=1')
  const campaignBefore = await api.get(`/v1/campaigns/${id}`)
  const bJob = `${id}-e2-a1` // executions are numbered in target order: dev-b is e2, its first job a1
  t.match(campaignBefore, { executions: [{ deviceId: 'dev-a' }, { deviceId: 'dev-b', attempts: 1 }] }, 'dev-b ran attempt 1 of execution e2')

  const forger = await mqtt.connectAsync(broker.url, { username: 'dev-a', password: USERS['dev-a'], clientId: 'dev-a-forger', reconnectPeriod: 0 })
  t.teardown(() => forger.endAsync(true))
  const fake: Measurement = {
    key: 'conv-k3-s1-i8x8x8-o8x8x16-bn-relu', kind: 'block', runtime: 'onnxruntime', backend: 'cpu', threads: 1,
    medianMs: 12345, p10Ms: 12345, p90Ms: 12345, meanMs: 12345, stdMs: 0, cv: 0, samples: 5, rounds: 1, noisy: false,
    time: new Date().toISOString(),
  }
  const forgedResults = JSON.stringify({ v: 1, deviceId: 'dev-b', jobId: bJob, seq: 9999, measurements: [fake] })
  // On B's topics: the ACL denies; MQTT 3.1.1 acknowledges a denied publish and drops it.
  await forger.publishAsync(topics.results('dev-b'), forgedResults, { qos: 1 })
  await forger.publishAsync(topics.status('dev-b'), JSON.stringify({ v: 1, deviceId: 'dev-b', state: 'offline', agentVersion: 'x', time: new Date().toISOString() }), { qos: 1, retain: true })
  await forger.publishAsync(topics.jobState('dev-b', bJob), JSON.stringify({ v: 1, deviceId: 'dev-b', jobId: bJob, state: 'FAILED', time: new Date().toISOString() }), { qos: 1 })
  // Reading B's acks: mosquitto 2.0 grants the SUBSCRIBE and checks read access per message on
  // delivery (newer versions answer 0x80); either way nothing of B's may arrive.
  const overheard: string[] = []
  forger.on('message', (topic) => overheard.push(topic))
  await forger.subscribeAsync(topics.acks('dev-b'), { qos: 1 }).catch(() => undefined)
  const witness = await mqtt.connectAsync(broker.url, { username: 'fleetnas-controller', password: CONTROLLER_PW, clientId: 'ack-witness', reconnectPeriod: 0 })
  t.teardown(() => witness.endAsync(true))
  let witnessed = 0
  witness.on('message', () => witnessed++)
  await witness.subscribeAsync(topics.acks('dev-b'), { qos: 1 })
  await witness.publishAsync(topics.acks('dev-b'), JSON.stringify({ v: 1, jobId: bJob, seqs: [999999] }), { qos: 1 })
  await until('the ack to be delivered to a reader that may read it', () => (witnessed > 0 ? true : undefined), 10_000, 50)
  // On A's own topic, claiming to be B: the broker lets it through, the controller rejects it.
  await forger.publishAsync(topics.results('dev-a'), forgedResults, { qos: 1 })

  // Messages from one client arrive in order: once the last one is counted, the others have been seen or dropped.
  const after = await until('the forged payload on A\'s topic to be rejected', async () => {
    const text = await api.requestText('GET', '/metrics')
    const n = metricValue(text, 'fleetnas_mqtt_rejected_messages_total{reason="device_mismatch",topic_kind="results"}') ?? 0
    return n >= 1 ? text : undefined
  }, 20_000)
  t.same(overheard, [], 'the forger received nothing of B\'s')
  t.equal(metricsTotal(after, 'fleetnas_mqtt_rejected_messages_total') - metricsTotal(before, 'fleetnas_mqtt_rejected_messages_total'), 1, 'exactly one message reached the controller and was rejected')
  for (const name of ['fleetnas_measurements_stored', 'fleetnas_result_batches_stored', 'fleetnas_result_batches_duplicate_total', 'fleetnas_devices_known', 'fleetnas_devices_online'])
    t.equal(metricValue(after, name), metricValue(before, name), `${name} unchanged`)
  t.same(await api.get('/v1/luts/x86-64?runtime=onnxruntime&threads=1'), lutBefore, 'the LUT is unchanged')
  t.notOk(lutBefore.entries.some((e) => e.key === fake.key && e.medianMs === 12345), 'the forged measurement is not in the LUT')
  t.same(await api.get(`/v1/campaigns/${id}`), campaignBefore, 'the campaign is unchanged')
  const b = (await api.get<{ id: string; status: string }[]>('/v1/devices')).find((d) => d.id === 'dev-b')
  t.equal(b?.status, 'online', 'the forged offline status of dev-b never arrived')
})
