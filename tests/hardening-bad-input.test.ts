/**
 * Thousands of bad inputs against one controller (embedded broker, SQLite, HTTP on a real port),
 * generated from a seed by tests/helpers/bad-input.ts:
 * - over MQTT (insecure broker, so everything reaches the dispatcher): each message on a topic the
 *   controller subscribes to is counted in fleetnas_mqtt_rejected_messages_total under the expected
 *   topic kind and reason, the increase equals the number sent, and nothing is stored;
 * - over HTTP: each request gets its 4xx status and FLEETNAS_ERR_* code, schema failures name the
 *   field, nothing is created;
 * - with device authentication on: a device publishing outside its ACL, subscribing to other
 *   devices' topics or logging in with a wrong secret is refused and counted;
 * and afterwards the controller still runs a real campaign to SUCCEEDED.
 */
import t from 'tap'
import mqtt, { type MqttClient } from 'mqtt'
import { pino } from 'pino'
import { topics } from '@fleetnas/shared'
import { startController, type RunningController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import { startFakeAgent } from '../controller/src/testing/fake-agent.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'
import { assertStoredOnce } from './helpers/controller-process.ts'
import {
  badHttpCorpus,
  badMqttCorpus,
  disruptiveMqttCorpus,
  metricSeries,
  metricValue,
  metricsTotal,
  validMessages,
  type BadHttpRequest,
  type BadMqttMessage,
} from './helpers/bad-input.ts'

const SEED = 20260101
const MQTT_COUNT = 3000
const HTTP_COUNT = 2000
const FAST = { warmupRuns: 1, minRuns: 5, minTimeMs: 2, maxCv: 1, rounds: 1, referenceEvery: 0 }
const silent = () => pino({ level: process.env.FLEETNAS_TEST_LOG ?? 'silent' })

/** Every stored row that bad input must not touch (counters excluded: counting is the point). */
function snapshot(ctl: RunningController, skipDevices: string[] = []) {
  const db = ctl.store.db
  const all = (sql: string) => db.prepare(sql).all()
  return {
    devices: (all('SELECT * FROM devices ORDER BY id') as { id: string }[]).filter((d) => !skipDevices.includes(d.id)),
    campaigns: all('SELECT * FROM campaigns ORDER BY id'),
    campaignKeys: all('SELECT count(*) AS n FROM campaign_keys'),
    executions: all('SELECT * FROM executions ORDER BY id'),
    jobs: all('SELECT * FROM jobs ORDER BY job_id'),
    batches: all('SELECT * FROM result_batches ORDER BY job_id, seq'),
    measurements: all('SELECT * FROM measurements ORDER BY id'),
    executionBlocks: all('SELECT * FROM execution_blocks ORDER BY execution_id, key'),
    luts: all('SELECT * FROM lut_entries ORDER BY hardware_profile, runtime, threads, backend, key'),
  }
}

/** Labels as the controller renders them (sorted keys), to compare with /metrics lines. */
const rejectedSeries = (kind: string, reason: string) => `fleetnas_mqtt_rejected_messages_total{reason="${reason}",topic_kind="${kind}"}`

async function publishAll(client: MqttClient, corpus: BadMqttMessage[]): Promise<void> {
  for (let i = 0; i < corpus.length; i += 200)
    await Promise.all(corpus.slice(i, i + 200).map((m) => client.publishAsync(m.topic, m.payload as Buffer, { qos: 1 })))
}

/** A publish that makes the broker drop the connection: own connection, QoS 0, wait for the close. */
async function publishAndExpectClose(url: string, m: BadMqttMessage, auth: { username?: string; password?: string } = {}): Promise<void> {
  const client = await mqtt.connectAsync(url, { ...auth, clientId: `bad-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 0 })
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  client.on('error', () => undefined)
  client.publish(m.topic, m.payload as Buffer, { qos: 0 }, () => undefined)
  await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))])
  await client.endAsync(true)
}

async function sendHttp(base: string, corpus: BadHttpRequest[], token?: string, concurrency = 8) {
  const mismatches: string[] = []
  let next = 0
  const worker = async () => {
    while (next < corpus.length) {
      const r = corpus[next++]
      const headers: Record<string, string> = { ...r.headers }
      if (token) headers.authorization = `Bearer ${token}`
      let status = 0
      let body: { code?: string; message?: string } = {}
      try {
        const res = await fetch(base + r.url, { method: r.method, headers, body: r.body as string | undefined })
        status = res.status
        const text = await res.text()
        try {
          body = JSON.parse(text)
        } catch {
          body = { message: `(not JSON) ${text.slice(0, 100)}` }
        }
      } catch (e) {
        mismatches.push(`${r.what}: request failed: ${(e as Error).message}`)
        continue
      }
      const problems: string[] = []
      if (status !== r.status) problems.push(`status ${status}, want ${r.status}`)
      if (body.code !== r.code) problems.push(`code ${body.code}, want ${r.code}`)
      if (!body.code?.startsWith('FLEETNAS_ERR_')) problems.push('no FLEETNAS_ERR_ code')
      if (typeof body.message !== 'string' || body.message.length === 0) problems.push('no message')
      if (r.field && !body.message?.includes(r.field)) problems.push(`message does not name ${r.field}`)
      if (problems.length) mismatches.push(`${r.method} ${r.url.slice(0, 80)} (${r.what}): ${problems.join(', ')}; got ${JSON.stringify(body).slice(0, 300)}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return mismatches
}

t.test('bad MQTT and HTTP input: rejected with reasons, counted, nothing stored; a campaign still succeeds', async (t) => {
  const dir = await tempDir('fleetnas-hardening-bad-')
  t.teardown(dir.remove)
  const ctl = await startController({ dataDir: `${dir.path}/controller`, httpPort: 0, mqttPort: 0, insecure: true, schedulerIntervalMs: 100 }, { logger: silent(), env: {} })
  t.teardown(() => ctl.stop())
  const api = new ApiClient({ api: ctl.httpUrl })

  // A real agent (for the campaign at the end) and a fake one holding a job (so bad results can name a real job).
  const agent = spawnAgent(['--broker', ctl.mqttUrl, '--state-dir', `${dir.path}/good-1`, '--device-id', 'good-1', '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'warn'])
  t.teardown(() => agent.stop())
  const victim = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'victim-1', onJob: () => 'hold' })
  t.teardown(() => victim.stop())
  await waitOnline(api, ['good-1', 'victim-1'])
  const held = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'held', blocks: [{ op: 'conv', kernel: 3, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 16 }], targets: { devices: ['victim-1'] },
  })
  await waitCampaign(api, held.id, (c) => c.state === 'IN_PROGRESS', 'the held job to be accepted', 10_000)
  const job = { deviceId: 'victim-1', jobId: victim.jobs[0].jobId }

  const before = snapshot(ctl)
  const metricsBefore = await api.requestText('GET', '/metrics')

  // ---- MQTT ----
  const corpus = badMqttCorpus({ seed: SEED, count: MQTT_COUNT, knownDevices: ['good-1', 'victim-1'], job })
  const reaching = corpus.filter((m) => m.reaches)
  const expected = new Map<string, number>()
  for (const m of reaching) expected.set(rejectedSeries(m.topicKind!, m.reason!), (expected.get(rejectedSeries(m.topicKind!, m.reason!)) ?? 0) + 1)
  t.ok(reaching.length > MQTT_COUNT * 0.9, `${reaching.length} of ${MQTT_COUNT} messages go to topics the controller subscribes to`)

  const sender = await mqtt.connectAsync(ctl.mqttUrl, { clientId: 'bad-input-sender', reconnectPeriod: 0 })
  t.teardown(() => sender.endAsync(true))
  const started = Date.now()
  await publishAll(sender, corpus)
  // Messages from one client arrive in order: once this one is stored, every bad one before it was handled.
  await sender.publishAsync(topics.status('sentinel-1'), JSON.stringify(validMessages.status('sentinel-1')), { qos: 1 })
  await until('the sentinel after the corpus', () => ctl.store.devices.get('sentinel-1'), 30_000, 50)
  const mqttMs = Date.now() - started
  const disruptive = disruptiveMqttCorpus()
  for (const m of disruptive) await publishAndExpectClose(ctl.mqttUrl, m)
  t.ok(sender.connected, 'the sender was never disconnected by a message on a legal topic')

  const metricsAfter = await api.requestText('GET', '/metrics')
  const rejectedIncrease = metricsTotal(metricsAfter, 'fleetnas_mqtt_rejected_messages_total') - metricsTotal(metricsBefore, 'fleetnas_mqtt_rejected_messages_total')
  t.equal(rejectedIncrease, reaching.length, `rejected counter increased by the ${reaching.length} bad messages on protocol topics (${corpus.length} sent in ${mqttMs} ms)`)
  const byLabel: Record<string, { want: number; got: number }> = {}
  for (const s of metricSeries(metricsAfter, 'fleetnas_mqtt_rejected_messages_total')) {
    const series = `fleetnas_mqtt_rejected_messages_total${s.labels}`
    byLabel[series] = { want: expected.get(series) ?? 0, got: s.value - (metricValue(metricsBefore, series) ?? 0) }
  }
  for (const [series, want] of expected) byLabel[series] ??= { want, got: 0 }
  t.same(
    Object.fromEntries(Object.entries(byLabel).map(([k, v]) => [k, v.got])),
    Object.fromEntries(Object.entries(byLabel).map(([k, v]) => [k, v.want])),
    'each bad message counted under its topic kind and reason',
  )
  t.equal(
    metricValue(metricsAfter, 'fleetnas_mqtt_refused_total{action="publish"}'),
    disruptive.filter((m) => m.refused).length,
    'insecure broker: only the empty-level topics refused (and counted) at the broker; the dispatcher saw everything else',
  )
  t.same(snapshot(ctl, ['sentinel-1']), before, 'MQTT: devices, campaigns, jobs, batches, measurements and LUTs unchanged')

  // ---- HTTP ----
  const requests = badHttpCorpus({ seed: SEED, count: HTTP_COUNT, knownDevice: 'good-1', missingProfile: 'no-such-profile' })
  const httpStarted = Date.now()
  const mismatches = await sendHttp(ctl.httpUrl, requests)
  const httpMs = Date.now() - httpStarted
  t.same(mismatches.slice(0, 15), [], `every one of ${requests.length} bad requests answered with its 4xx and code (${httpMs} ms; ${mismatches.length} wrong)`)
  t.same(snapshot(ctl, ['sentinel-1']), before, 'HTTP: nothing created or changed')
  const health = await fetch(`${ctl.httpUrl}/healthz`)
  t.equal(health.status, 200, 'the controller is healthy after the corpus')

  // ---- and it still works ----
  const { id } = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'after-bad-input', searchSpace: 'default', sample: 8, targets: { devices: ['good-1'] }, runtimes: ['onnxruntime'], settings: FAST,
  })
  await waitCampaign(api, id, (c) => ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(c.state), 'the campaign after the corpus', 90_000)
  await assertStoredOnce(t, { api, dataDir: `${dir.path}/controller`, campaignId: id, blocks: 8, hardwareProfile: 'x86-64', context: agent.output })
})

t.test('device authentication on: ACL violations, foreign subscriptions and bad logins refused and counted', async (t) => {
  const dir = await tempDir('fleetnas-hardening-acl-')
  t.teardown(dir.remove)
  const token = 'bad-input-token-1'
  const ctl = await startController({ dataDir: dir.path, httpPort: 0, mqttPort: 0, apiToken: token, schedulerIntervalMs: 100 }, { logger: silent(), env: {} })
  t.teardown(() => ctl.stop())
  const api = new ApiClient({ api: ctl.httpUrl, token })
  const secretOf: Record<string, string> = {}
  for (const id of ['acl-a', 'acl-b']) secretOf[id] = (await api.post<{ secret: string }>(`/v1/devices/${id}/credentials`)).secret

  // HTTP without the token.
  const generated = badHttpCorpus({ seed: SEED + 1, count: 40, knownDevice: 'acl-a' })
  const requestsRouted = generated.map((r) => r.code !== 'FLEETNAS_ERR_HTTP_NOT_FOUND')
  const unauth = generated.map((r) => ({ ...r, status: 401, code: 'FLEETNAS_ERR_AUTH_REQUIRED', field: undefined }))
  // Routes that exist and URLs the router can parse: the token check comes first (no route is a 404 either way).
  const unauthOk = unauth.filter((r, i) => r.url.startsWith('/v1/') && !/%(?![0-9A-Fa-f]{2})|%E0%A4%A|%zz/.test(r.url) && r.url.length < 100 && requestsRouted[i])
  t.same((await sendHttp(ctl.httpUrl, unauthOk)).slice(0, 10), [], `${unauthOk.length} requests without a token: 401 FLEETNAS_ERR_AUTH_REQUIRED`)
  t.same((await sendHttp(ctl.httpUrl, unauthOk.slice(0, 10), 'wrong-token-123')).slice(0, 10), [], 'a wrong token: 401 too')

  const before = snapshot(ctl)
  const metricsBefore = await api.requestText('GET', '/metrics')
  const asA = { username: 'acl-a', password: secretOf['acl-a'] }
  const now = new Date().toISOString()
  const refusedPublishes: BadMqttMessage[] = [
    topics.status('acl-b'), topics.info('acl-b'), topics.results('acl-b'), topics.jobState('acl-b', 'j-1'),
    topics.jobs('acl-a'), topics.acks('acl-a'), topics.jobs('acl-b'), topics.acks('acl-b'),
    'fleetnas/v1/devices/acl-a/other', 'fleetnas/v1/devices/acl-a/status/extra', 'fleetnas/v1/devices/acl-a', 'elsewhere/x',
    'fleetnas/v2/devices/acl-a/status', 'fleetnas/v1/devices/fleetnas-controller/status', 'fleetnas/v1/devices/ACL-A/status',
  ].map((topic) => ({ what: `acl-a publishes to ${topic}`, topic, payload: JSON.stringify(validMessages.results('acl-b', 'j-1')), reaches: false }))
  for (const m of refusedPublishes) await publishAndExpectClose(ctl.mqttUrl, m, asA)

  const a = await mqtt.connectAsync(ctl.mqttUrl, { ...asA, clientId: 'acl-a-subscriber', reconnectPeriod: 0 })
  t.teardown(() => a.endAsync(true))
  const refusedFilters = [topics.jobs('acl-b'), topics.acks('acl-b'), 'fleetnas/v1/devices/+/jobs', 'fleetnas/v1/#', '#', topics.results('acl-a'), topics.status('acl-b'), '$SYS/#']
  for (const f of refusedFilters) await t.rejects(a.subscribeAsync(f, { qos: 1 }), `subscribe ${f} refused`)
  // A well-formed message on its own topic that claims another device: passes the ACL, fails the controller.
  await a.publishAsync(topics.results('acl-a'), JSON.stringify(validMessages.results('acl-b', 'j-1')), { qos: 1 })
  await a.publishAsync(topics.status('acl-a'), JSON.stringify({ ...validMessages.status('acl-b'), time: now }), { qos: 1 })

  const badLogins = [
    { username: 'acl-a', password: 'wrong' }, { username: 'acl-a', password: '' }, { username: 'acl-c', password: 'x' },
    { username: 'fleetnas-controller', password: 'guess' }, { username: '+', password: 'x' }, { username: '#', password: 'x' }, {},
  ]
  for (const login of badLogins) await t.rejects(mqtt.connectAsync(ctl.mqttUrl, { ...login, reconnectPeriod: 0, connectTimeout: 5000 }), `login ${JSON.stringify(login)} refused`)

  const metricsAfter = await until('every refusal counted', async () => {
    const text = await api.requestText('GET', '/metrics')
    return (metricValue(text, rejectedSeries('status', 'device_mismatch')) ?? 0) >= 1 ? text : undefined
  }, 10_000)
  const delta = (series: string) => (metricValue(metricsAfter, series) ?? 0) - (metricValue(metricsBefore, series) ?? 0)
  t.equal(delta('fleetnas_mqtt_refused_total{action="publish"}'), refusedPublishes.length, 'each publish outside the ACL refused and counted')
  t.equal(delta('fleetnas_mqtt_refused_total{action="subscribe"}'), refusedFilters.length, 'each foreign subscription refused and counted')
  t.equal(delta('fleetnas_mqtt_refused_total{action="connect"}'), badLogins.length, 'each bad login refused and counted')
  t.equal(delta(rejectedSeries('results', 'device_mismatch')), 1, 'results claiming acl-b on acl-a\'s topic rejected by the controller')
  t.equal(delta(rejectedSeries('status', 'device_mismatch')), 1, 'status claiming acl-b on acl-a\'s topic rejected by the controller')
  t.same(snapshot(ctl), before, 'nothing stored or changed')
  t.equal((await fetch(`${ctl.httpUrl}/healthz`)).status, 200, 'still healthy')
})

t.test('insecure embedded broker: a topic with an empty level is refused instead of knocking the controller session off', async (t) => {
  // aedes delivers such a publish to the controller's '+' subscriptions, but its session store
  // (qlobber) does not match '+' to an empty level, so the controller's PUBACK finds no packet and
  // aedes drops the controller's connection; the message is lost and a flood of them keeps the
  // controller offline. The broker must refuse them at the door.
  const dir = await tempDir('fleetnas-hardening-empty-level-')
  t.teardown(dir.remove)
  const ctl = await startController({ dataDir: dir.path, httpPort: 0, mqttPort: 0, insecure: true }, { logger: silent(), env: {} })
  t.teardown(() => ctl.stop())
  const api = new ApiClient({ api: ctl.httpUrl })
  const bad = ['fleetnas/v1/devices//status', 'fleetnas/v1/devices//results', 'fleetnas/v1/devices/d1/jobs//state', 'fleetnas/v1/devices//jobs//state']
  for (const topic of bad) await publishAndExpectClose(ctl.mqttUrl, { what: topic, topic, payload: 'x', reaches: false })
  const sender = await mqtt.connectAsync(ctl.mqttUrl, { clientId: 'after-empty-level', reconnectPeriod: 0 })
  t.teardown(() => sender.endAsync(true))
  await sender.publishAsync(topics.status('after-1'), JSON.stringify(validMessages.status('after-1')), { qos: 1 })
  await until('the next message to be handled', () => ctl.store.devices.get('after-1'), 5000, 20)
  const metrics = await api.requestText('GET', '/metrics')
  t.equal(metricValue(metrics, 'fleetnas_mqtt_refused_total{action="publish"}'), bad.length, 'each refused and counted')
  t.equal(metricValue(metrics, 'fleetnas_mqtt_connected'), 1, 'the controller session is up')
})
