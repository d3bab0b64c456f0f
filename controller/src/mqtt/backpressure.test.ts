/**
 * Fairness and backpressure of result ingest: a device flooding the controller is throttled (and
 * counted in /metrics) while another device's campaign completes; a store locked by another
 * connection makes acks wait, and the batch is stored once the lock is gone, not dropped.
 */
import t from 'tap'
import Database from 'better-sqlite3'
import { blockKey, topics, type BlockSpec } from '@fleetnas/shared'
import { api, startTestController, waitFor } from '../testing/harness.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'

const block: BlockSpec = { op: 'conv', kernel: 3, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 16 }
const blocks: BlockSpec[] = [8, 16, 24, 32].map((outChannels) => ({ ...block, outChannels }))

const metricValue = (text: string, line: string) => {
  const hit = text.split('\n').find((l) => l.startsWith(line + ' '))
  return hit === undefined ? undefined : Number(hit.slice(line.length + 1))
}

t.test('a flooding device is throttled and counted; another device completes its campaign', async (t) => {
  const ctl = await startTestController(t, { ingest: { deviceRatePerS: 5, deviceBurst: 20 } })
  const good = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'good', batchSize: 1 })
  const flood = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'flood', onJob: () => 'ignore' })
  t.teardown(() => Promise.all([good.stop(), flood.stop()]))
  await waitFor('devices registered', () => ctl.store.devices.get('good')?.hardwareProfile && ctl.store.devices.get('flood')?.hardwareProfile)

  // 400 well-formed result batches for a job the flooder does not have, as fast as the broker takes them.
  const junk = (seq: number) => JSON.stringify({ v: 1, deviceId: 'flood', jobId: 'no-such-job', seq, measurements: [flood.measurement(blockKey(block))] })
  await Promise.all(Array.from({ length: 400 }, (_, i) => flood.publishRaw(topics.results('flood'), junk(i))))

  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'fair', blocks, targets: { devices: ['good'] } })
  await waitFor('the good device campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'SUCCEEDED')
  await waitFor('every batch of the good device acked', () => good.acks.length === blocks.length)

  const metrics = (await api(ctl, 'GET', '/metrics')).body
  const throttled = metricValue(metrics, 'fleetnas_mqtt_throttled_messages_total{topic_kind="results"}') ?? 0
  t.ok(throttled > 0, `the flood was throttled (${throttled} messages)`)
  t.equal(metricValue(metrics, 'fleetnas_mqtt_throttled_devices'), 1, 'one device throttled: the flooder')
  t.equal(flood.acks.length, 0, 'nothing of the flood acked')
})

t.test('a locked store delays the ack; the batch is stored once the lock is released', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-1', onJob: () => 'hold' })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('dev-1')?.hardwareProfile)
  await api(ctl, 'POST', '/v1/campaigns', { name: 'locked', blocks: [block], targets: { devices: ['dev-1'] } })
  await waitFor('job at the agent', () => agent.jobs.length === 1)
  const jobId = agent.jobs[0].jobId

  // Another connection (as another controller process would) holds the write lock.
  const other = new Database(ctl.store.file)
  t.teardown(() => other.open && other.close())
  other.prepare('BEGIN IMMEDIATE').run()
  await agent.publishRaw(topics.results('dev-1'), JSON.stringify({ v: 1, deviceId: 'dev-1', jobId, seq: 0, measurements: [agent.measurement(blockKey(block))] }))
  await waitFor(
    'the ingest queue to meet the locked store',
    async () => (metricValue((await api(ctl, 'GET', '/metrics')).body, 'fleetnas_ingest_store_retries_total') ?? 0) > 0,
    30_000,
  )
  t.equal(agent.acks.length, 0, 'no ack while the batch is not stored')
  other.prepare('ROLLBACK').run()
  other.close()

  await waitFor('the ack', () => agent.acks.length === 1, 30_000)
  t.equal(ctl.store.measurements.countBatches(), 1, 'stored once')
  t.equal(ctl.store.measurements.count(), 1)
})
