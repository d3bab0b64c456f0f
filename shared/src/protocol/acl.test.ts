import t from 'tap'
import { mayPublish, maySubscribe } from './acl.ts'
import { topics } from './topics.ts'

t.test('a device publishes only its own agent-side topics', async (t) => {
  for (const topic of [topics.status('d1'), topics.info('d1'), topics.jobState('d1', 'j-1'), topics.results('d1')]) t.ok(mayPublish('d1', topic), topic)
  for (const topic of [topics.status('d2'), topics.jobs('d1'), topics.acks('d1'), 'fleetnas/v1/devices/d1/other', 'elsewhere/x', 'fleetnas/v1/devices/+/status'])
    t.notOk(mayPublish('d1', topic), topic)
})

t.test('a device subscribes only to its own jobs and acks, without wildcards', async (t) => {
  t.ok(maySubscribe('d1', topics.jobs('d1')))
  t.ok(maySubscribe('d1', topics.acks('d1')))
  for (const f of [topics.jobs('d2'), 'fleetnas/v1/devices/+/jobs', 'fleetnas/v1/#', '#', topics.results('d1')]) t.notOk(maySubscribe('d1', f), f)
})
