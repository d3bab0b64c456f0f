/**
 * The shipped mosquitto config and ACL (deploy/mosquitto/) on a real mosquitto: a device reaches
 * only its own topics, the controller reaches everything under fleetnas/v1, bad credentials are
 * refused, and a persistent controller session keeps QoS 1 results across a broker restart.
 *
 * "Not delivered" is shown without sleeping: after the forbidden message the same sender (or the
 * controller) publishes a permitted marker on the same path; MQTT keeps one client's messages in
 * order, so once the marker arrives the forbidden message would have arrived before it.
 */
import t from 'tap'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { controllerSubscriptions, mayPublish, topics } from '@fleetnas/shared'
import { mosquittoSkipReason, startMosquitto, type RunningMosquitto } from './helpers/mosquitto.ts'

const CONTROLLER = 'fleetnas-controller'
const USERS = { [CONTROLLER]: 'controller-secret', 'dev-a': 'secret-a', 'dev-b': 'secret-b' }
type User = keyof typeof USERS

interface Received {
  topic: string
  payload: string
}

/** A connected client that records every message it receives. */
async function client(broker: RunningMosquitto, user: User, opts: IClientOptions = {}) {
  const c = await mqtt.connectAsync(broker.url, {
    username: user,
    password: USERS[user],
    reconnectPeriod: 0,
    ...opts,
  })
  const received: Received[] = []
  c.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }))
  return { c, received, until: (payload: string) => until(c, payload) }
}

/** Resolves when a message with this payload arrives. */
function until(c: MqttClient, payload: string): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (_topic: string, p: Buffer) => {
      if (p.toString() !== payload) return
      c.off('message', onMessage)
      resolve()
    }
    c.on('message', onMessage)
  })
}

t.test('shipped ACL on a real mosquitto', { skip: mosquittoSkipReason() }, async (t) => {
  const broker = await startMosquitto({ users: USERS })
  t.teardown(broker.stop)
  const controller = await client(broker, CONTROLLER)
  const devA = await client(broker, 'dev-a')
  const devB = await client(broker, 'dev-b')
  t.teardown(() => Promise.all([controller.c.endAsync(), devA.c.endAsync(), devB.c.endAsync()]))
  await controller.c.subscribeAsync(controllerSubscriptions, { qos: 1 })
  await devA.c.subscribeAsync([topics.jobs('dev-a'), topics.acks('dev-a')], { qos: 1 })
  await devB.c.subscribeAsync([topics.jobs('dev-b'), topics.acks('dev-b')], { qos: 1 })

  t.test('a device publishes to its own topics and the controller receives them', async (t) => {
    const sent = [
      [topics.status('dev-a'), 'own-status'],
      [topics.info('dev-a'), 'own-info'],
      [topics.jobState('dev-a', 'job-1'), 'own-job-state'],
      [topics.results('dev-a'), 'own-results'],
    ] as const
    const arrived = until(controller.c, 'own-results')
    for (const [topic, payload] of sent) await devA.c.publishAsync(topic, payload, { qos: 1 })
    await arrived
    t.same(
      controller.received.filter((m) => m.payload.startsWith('own-')),
      sent.map(([topic, payload]) => ({ topic, payload })),
      'all four agent-side topics delivered, in order',
    )
  })

  t.test("a device publishing to another device's results is dropped", async (t) => {
    // MQTT 3.1.1 has no way to say "denied" in a PUBACK: mosquitto acknowledges and drops.
    await devA.c.publishAsync(topics.results('dev-b'), 'forged-results', { qos: 1 })
    await devA.c.publishAsync(topics.status('dev-b'), 'forged-status', { qos: 1, retain: true })
    const marker = until(controller.c, 'marker-after-forgery')
    await devA.c.publishAsync(topics.results('dev-a'), 'marker-after-forgery', { qos: 1 })
    await marker
    t.notOk(controller.received.some((m) => m.payload.startsWith('forged-')), 'controller never got the forged messages')
  })

  t.test('a device cannot forge jobs or acks, not even its own', async (t) => {
    await devA.c.publishAsync(topics.jobs('dev-a'), 'forged-job', { qos: 1 })
    await devA.c.publishAsync(topics.acks('dev-a'), 'forged-ack', { qos: 1 })
    await devA.c.publishAsync(topics.jobs('dev-b'), 'forged-job-b', { qos: 1 })
    const marker = until(devA.c, 'job-from-controller')
    await controller.c.publishAsync(topics.jobs('dev-a'), 'job-from-controller', { qos: 1 })
    await marker
    t.same(devA.received.map((m) => m.payload), ['job-from-controller'], 'only the controller job reached dev-a')
    t.notOk(devB.received.some((m) => m.payload === 'forged-job-b'), 'dev-b got no job from dev-a')
  })

  t.test("a device cannot read another device's jobs, with or without wildcards", async (t) => {
    const spy = await client(broker, 'dev-a', { clientId: 'dev-a-spy' })
    t.teardown(() => spy.c.endAsync())
    const filters = [topics.jobs('dev-b'), topics.acks('dev-b'), 'fleetnas/v1/devices/+/jobs', 'fleetnas/v1/#', '#']
    const granted = await spy.c.subscribeAsync(filters, { qos: 1 })
    // mosquitto 2.0 grants the SUBSCRIBE (SUBACK qos 1, not 128) and checks read access per
    // message on delivery; newer versions may answer 128. Either way nothing may arrive.
    t.equal(granted.length, filters.length, 'one SUBACK entry per filter')
    t.comment(`SUBACK codes: ${granted.map((g) => g.qos).join(', ')}`)

    const bGotJob = until(devB.c, 'job-for-b')
    await controller.c.publishAsync(topics.jobs('dev-b'), 'job-for-b', { qos: 1 })
    await controller.c.publishAsync(topics.acks('dev-b'), 'ack-for-b', { qos: 1 })
    await bGotJob
    const marker = until(spy.c, 'job-for-a')
    await controller.c.publishAsync(topics.jobs('dev-a'), 'job-for-a', { qos: 1 })
    await marker
    t.notOk(spy.received.some((m) => m.payload.endsWith('-for-b')), "dev-a received none of dev-b's messages")
    t.ok(spy.received.every((m) => m.topic.startsWith('fleetnas/v1/devices/dev-a/')), 'only its own topics reached the spy')
  })

  t.test('mosquitto allows exactly what shared/src/protocol/acl.ts allows', async (t) => {
    // The code rule (aedes hooks) and the broker file must agree on every kind of topic.
    const candidates = [
      topics.status('dev-a'),
      topics.info('dev-a'),
      topics.jobState('dev-a', 'j-7'),
      topics.results('dev-a'),
      topics.jobs('dev-a'),
      topics.acks('dev-a'),
      topics.status('dev-b'),
      topics.info('dev-b'),
      topics.jobState('dev-b', 'j-7'),
      topics.results('dev-b'),
      'fleetnas/v1/devices/dev-a/results/extra',
      'fleetnas/v1/devices/dev-a',
      'fleetnas/v1/broadcast',
    ]
    const watcher = await client(broker, CONTROLLER, { clientId: 'acl-parity-watcher' })
    t.teardown(() => watcher.c.endAsync())
    await watcher.c.subscribeAsync('fleetnas/v1/#', { qos: 1 })
    for (const topic of candidates) await devA.c.publishAsync(topic, `parity:${topic}`, { qos: 1 })
    const marker = until(watcher.c, 'parity-marker')
    await devA.c.publishAsync(topics.results('dev-a'), 'parity-marker', { qos: 1 })
    await marker
    const delivered = new Set(watcher.received.filter((m) => m.payload.startsWith('parity:')).map((m) => m.topic))
    for (const topic of candidates) t.equal(delivered.has(topic), mayPublish('dev-a', topic), `dev-a -> ${topic}`)
  })

  t.test('MQTT 5 clients are told when a publish is denied', async (t) => {
    const v5 = await client(broker, 'dev-b', { clientId: 'dev-b-v5', protocolVersion: 5 })
    t.teardown(() => v5.c.endAsync())
    await t.rejects(v5.c.publishAsync(topics.results('dev-a'), 'x', { qos: 1 }), { code: 135 }, 'PUBACK reason 0x87 not authorized')
    await t.resolves(v5.c.publishAsync(topics.results('dev-b'), 'ok', { qos: 1 }), 'own results accepted')
  })

  t.test('bad credentials are refused', async (t) => {
    // mosquitto answers CONNACK 5 ("not authorized") for a wrong password, an unknown user and
    // an anonymous client alike, so a scan cannot tell which usernames exist.
    const attempts: Array<[string, IClientOptions]> = [
      ['wrong password', { username: 'dev-a', password: 'not-the-secret' }],
      ['unknown user', { username: 'dev-c', password: 'secret-a' }],
      ['anonymous', {}],
      ["another device's password", { username: 'dev-a', password: USERS['dev-b'] }],
    ]
    for (const [what, opts] of attempts) {
      await t.rejects(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, ...opts }), { code: 5 }, what)
    }
  })
})

t.test('a persistent session keeps queued QoS 1 results across a broker restart', { skip: mosquittoSkipReason() }, async (t) => {
  const persistenceDir = t.testdir()
  const broker = await startMosquitto({ users: USERS, persistenceDir })
  t.teardown(broker.stop)
  const session: IClientOptions = { clientId: 'fleetnas-controller-test', clean: false }

  const first = await client(broker, CONTROLLER, session)
  await first.c.subscribeAsync(topics.results('dev-a'), { qos: 1 })
  await first.c.endAsync()

  const dev = await client(broker, 'dev-a')
  await dev.c.publishAsync(topics.results('dev-a'), 'queued-while-controller-away', { qos: 1 })
  await dev.c.endAsync()

  await broker.restart()

  // Listen before CONNACK: the broker sends the queued message right after it.
  const again = mqtt.connect(broker.url, { username: CONTROLLER, password: USERS[CONTROLLER], reconnectPeriod: 0, ...session })
  t.teardown(() => again.endAsync())
  const delivered = new Promise<Received>((resolve) => again.once('message', (topic, p) => resolve({ topic, payload: p.toString() })))
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    again.once('connect', resolve)
    again.once('error', reject)
  })
  if (!t.equal(connack.sessionPresent, true, 'the session survived the restart')) return
  t.same(await delivered, { topic: topics.results('dev-a'), payload: 'queued-while-controller-away' }, 'queued result delivered')
})
