import t from 'tap'
import {
  AGENT_PUBLISH_KINDS,
  AGENT_SUBSCRIBE_KINDS,
  TOPIC_ROOT,
  agentSubscriptions,
  controllerSubscriptions,
  isValidId,
  parseTopic,
  topics,
  type TopicKind,
} from './topics.ts'
import { mayPublish, maySubscribe } from './acl.ts'

const ids = ['pi4-01', 'a', 'Jetson.Nano_2', '0', 'x'.repeat(128)]

t.test('builders produce the documented topics', async (t) => {
  t.equal(TOPIC_ROOT, 'fleetnas/v1')
  t.equal(topics.status('d1'), 'fleetnas/v1/devices/d1/status')
  t.equal(topics.info('d1'), 'fleetnas/v1/devices/d1/info')
  t.equal(topics.jobs('d1'), 'fleetnas/v1/devices/d1/jobs')
  t.equal(topics.jobState('d1', 'j1'), 'fleetnas/v1/devices/d1/jobs/j1/state')
  t.equal(topics.results('d1'), 'fleetnas/v1/devices/d1/results')
  t.equal(topics.acks('d1'), 'fleetnas/v1/devices/d1/acks')
  t.same(agentSubscriptions('d1'), ['fleetnas/v1/devices/d1/jobs', 'fleetnas/v1/devices/d1/acks'])
})

t.test('parseTopic inverts every builder', async (t) => {
  const simple: Exclude<TopicKind, 'jobState'>[] = ['status', 'info', 'jobs', 'results', 'acks']
  for (const id of ids) {
    for (const kind of simple) t.same(parseTopic(topics[kind](id)), { kind, deviceId: id }, `${kind} ${id}`)
    for (const jobId of ['j1', 'campaign-7.chunk_3', 'y'.repeat(128)])
      t.same(parseTopic(topics.jobState(id, jobId)), { kind: 'jobState', deviceId: id, jobId })
  }
})

t.test('parseTopic rejects what is outside the protocol', async (t) => {
  const bad = [
    '',
    'fleetnas',
    'fleetnas/v1',
    'fleetnas/v1/devices',
    'fleetnas/v1/devices/d1',
    // wrong roots
    'fleetnas/v2/devices/d1/status',
    'Fleetnas/v1/devices/d1/status',
    'other/v1/devices/d1/status',
    '/fleetnas/v1/devices/d1/status',
    'fleetnas/v1/device/d1/status',
    'fleetnas/v1/controllers/d1/status',
    // unknown kinds
    'fleetnas/v1/devices/d1/state',
    'fleetnas/v1/devices/d1/Status',
    'fleetnas/v1/devices/d1/jobState',
    'fleetnas/v1/devices/d1/',
    'fleetnas/v1/devices/d1/jobs/j1/progress',
    'fleetnas/v1/devices/d1/results/j1/state',
    // bad ids
    'fleetnas/v1/devices//status',
    'fleetnas/v1/devices/-d1/status',
    'fleetnas/v1/devices/.d1/status',
    'fleetnas/v1/devices/d 1/status',
    'fleetnas/v1/devices/d1$/status',
    'fleetnas/v1/devices/dé/status',
    `fleetnas/v1/devices/${'x'.repeat(129)}/status`,
    'fleetnas/v1/devices/d1/jobs//state',
    'fleetnas/v1/devices/d1/jobs/-j/state',
    // wildcards
    'fleetnas/v1/devices/+/status',
    'fleetnas/v1/devices/#',
    'fleetnas/v1/devices/d1/#',
    'fleetnas/v1/devices/d1/+',
    'fleetnas/v1/devices/+/jobs/+/state',
    'fleetnas/v1/devices/d1/jobs/+/state',
    'fleetnas/+/devices/d1/status',
    // extra or missing levels
    'fleetnas/v1/devices/d1/status/extra',
    'fleetnas/v1/devices/d1/status/',
    'fleetnas/v1/devices/d1/jobs/j1',
    'fleetnas/v1/devices/d1/jobs/j1/state/extra',
    'fleetnas/v1/devices/d1/jobs/j1/state/',
  ]
  for (const topic of bad) t.equal(parseTopic(topic), undefined, JSON.stringify(topic))
})

t.test('isValidId', async (t) => {
  for (const id of ids) t.ok(isValidId(id), id)
  for (const id of ['', '-a', '_a', '.a', 'a/b', 'a+b', 'a#', 'a b', 'x'.repeat(129), 'a\n']) t.notOk(isValidId(id), JSON.stringify(id))
})

t.test('subscriptions and ACL kinds agree with the topic table', async (t) => {
  t.same(controllerSubscriptions, [
    'fleetnas/v1/devices/+/status',
    'fleetnas/v1/devices/+/info',
    'fleetnas/v1/devices/+/jobs/+/state',
    'fleetnas/v1/devices/+/results',
  ])
  // The controller subscribes to what agents publish; agents subscribe to what the controller publishes.
  const pubKinds = controllerSubscriptions.map((f) => parseTopic(f.replaceAll('+', 'x'))?.kind)
  t.same(new Set(pubKinds), AGENT_PUBLISH_KINDS)
  t.same(new Set(agentSubscriptions('d1').map((s) => parseTopic(s)?.kind)), AGENT_SUBSCRIBE_KINDS)
  for (const k of AGENT_PUBLISH_KINDS) t.notOk(AGENT_SUBSCRIBE_KINDS.has(k), `${k} is one direction only`)
})

t.test('device ACL: own agent-side topics only, exact filters, no wildcard identities', async (t) => {
  for (const kind of ['status', 'info', 'results'] as const) {
    t.ok(mayPublish('d1', topics[kind]('d1')), `publish own ${kind}`)
    t.notOk(mayPublish('d1', topics[kind]('d2')), `publish other's ${kind}`)
  }
  t.ok(mayPublish('d1', topics.jobState('d1', 'j1')))
  t.notOk(mayPublish('d1', topics.jobState('d2', 'j1')))
  for (const topic of [topics.jobs('d1'), topics.acks('d1'), 'fleetnas/v1/devices/d1/status/x', 'fleetnas/v1/devices/+/status', 'other'])
    t.notOk(mayPublish('d1', topic), `publish ${topic}`)
  t.ok(maySubscribe('d1', topics.jobs('d1')))
  t.ok(maySubscribe('d1', topics.acks('d1')))
  for (const filter of [topics.jobs('d2'), topics.status('d1'), 'fleetnas/v1/devices/+/jobs', 'fleetnas/v1/devices/d1/#', '#'])
    t.notOk(maySubscribe('d1', filter), `subscribe ${filter}`)
  // An identity that is itself a wildcard gets nothing.
  t.notOk(maySubscribe('+', 'fleetnas/v1/devices/+/jobs'))
  t.notOk(maySubscribe('+', 'fleetnas/v1/devices/+/acks'))
  t.notOk(mayPublish('+', 'fleetnas/v1/devices/+/status'))
})
