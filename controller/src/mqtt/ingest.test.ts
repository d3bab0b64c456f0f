import t, { type Test } from 'tap'
import { blockKey, topics, type BlockSpec } from '@fleetnas/shared'
import { api, startTestController, waitFor } from '../testing/harness.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'

const block: BlockSpec = { op: 'conv', kernel: 3, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 16 }
const key = blockKey(block)

async function setup(t: Test) {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-1', onJob: () => 'hold' })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('dev-1')?.hardwareProfile)
  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'ingest', blocks: [block], targets: { devices: ['dev-1'] } })
  await waitFor('job at the agent', () => agent.jobs.length === 1)
  return { ctl, agent, campaignId: json.id as string, jobId: agent.jobs[0].jobId }
}

const metricValue = (text: string, line: string) => {
  const hit = text.split('\n').find((l) => l.startsWith(line + ' '))
  return hit === undefined ? undefined : Number(hit.slice(line.length + 1))
}

t.test('the same (jobId, seq) twice is stored once and acked twice', async (t) => {
  const { ctl, agent, campaignId, jobId } = await setup(t)
  const batch = JSON.stringify({ v: 1, deviceId: 'dev-1', jobId, seq: 7, measurements: [agent.measurement(key)] })
  await agent.publishRaw(topics.results('dev-1'), batch)
  await agent.publishRaw(topics.results('dev-1'), batch)
  await waitFor('two acks', () => agent.acks.length === 2)
  t.same(agent.acks, [{ v: 1, jobId, seqs: [7] }, { v: 1, jobId, seqs: [7] }])
  t.equal(ctl.store.measurements.count(), 1, 'one measurement stored')
  t.equal(ctl.store.measurements.countBatches(), 1)
  const metrics = (await api(ctl, 'GET', '/metrics')).body
  t.equal(metricValue(metrics, 'fleetnas_result_batches_duplicate_total'), 1)
  t.equal(metricValue(metrics, 'fleetnas_measurements_stored'), 1)
  const c = (await api(ctl, 'GET', `/v1/campaigns/${campaignId}`)).json
  t.equal(c.state, 'SUCCEEDED', 'every key stored: the execution succeeded without waiting for the agent')
})

t.test('a block of one execution is stored once across attempts: the first result wins, later ones are acked and counted', async (t) => {
  const ctl = await startTestController(t)
  // Every attempt is accepted and then left alone: attempt 1 times out and is retried as attempt 2.
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-1', onJob: () => 'hold' })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('dev-1')?.hardwareProfile)
  const other: BlockSpec = { ...block, outChannels: 24 }
  const otherKey = blockKey(other)
  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'retried', blocks: [block, other], targets: { devices: ['dev-1'] }, executionTimeoutMs: 200, maxRetries: 1 })
  await waitFor('the retry at the agent', () => agent.jobs.length === 2)
  const [first, retry] = agent.jobs.map((j) => j.jobId)
  t.match(retry, new RegExp(`^${json.id}-e1-a2$`), 'the retry is a new job of the same execution')

  const results = (jobId: string, seq: number, k: string, medianMs: number) =>
    agent.publishRaw(topics.results('dev-1'), JSON.stringify({ v: 1, deviceId: 'dev-1', jobId, seq, measurements: [{ ...agent.measurement(k), medianMs }] }))
  await results(first, 0, key, 1) // attempt 1's late result comes first for `key` ...
  await results(retry, 0, key, 2)
  await results(retry, 1, otherKey, 3) // ... and second for `otherKey`
  await results(first, 1, otherKey, 4)
  await waitFor('four acks', () => agent.acks.length === 4)
  t.same(
    agent.acks.map((a) => `${a.jobId}/${a.seqs.join()}`).sort(),
    [`${first}/0`, `${first}/1`, `${retry}/0`, `${retry}/1`].sort(),
    'every batch acked (the agent outbox empties)',
  )

  const rows = ctl.store.db
    .prepare(`SELECT key, job_id AS jobId, median_ms AS medianMs FROM measurements WHERE kind = 'block' ORDER BY key`)
    .all() as { key: string; jobId: string; medianMs: number }[]
  t.same(
    rows,
    [
      { key, jobId: first, medianMs: 1 },
      { key: otherKey, jobId: retry, medianMs: 3 },
    ].sort((a, b) => a.key.localeCompare(b.key)),
    'one row per block, from whichever attempt arrived first',
  )
  t.equal(ctl.store.measurements.countBatches(), 4, 'each batch is recorded (a redelivery stays idempotent)')
  const metrics = (await api(ctl, 'GET', '/metrics')).body
  t.equal(metricValue(metrics, 'fleetnas_measurements_duplicate_total'), 2, 'the two late blocks are counted')
  t.equal(metricValue(metrics, 'fleetnas_result_batches_duplicate_total'), 0, 'no batch was a redelivery')
  t.equal(metricValue(metrics, 'fleetnas_measurements_stored'), 2)
  const lut = (await api(ctl, 'GET', '/v1/luts/test-box')).json
  t.same(lut.entries.map((e: { key: string; medianMs: number }) => [e.key, e.medianMs]).sort(), [[key, 1], [otherKey, 3]].sort(), 'the LUT holds the stored results')

  // A redelivered batch whose block is a duplicate too: acked, counted as a batch duplicate only.
  await results(first, 1, otherKey, 4)
  await waitFor('fifth ack', () => agent.acks.length === 5)
  const after = (await api(ctl, 'GET', '/metrics')).body
  t.equal(metricValue(after, 'fleetnas_result_batches_duplicate_total'), 1)
  t.equal(metricValue(after, 'fleetnas_measurements_duplicate_total'), 2)
})

t.test('invalid payloads are dropped and counted by topic kind and reason', async (t) => {
  const { ctl, agent, jobId } = await setup(t)
  await agent.publishRaw(topics.results('dev-1'), 'not json')
  await agent.publishRaw(topics.results('dev-1'), JSON.stringify({ v: 1, deviceId: 'dev-1', jobId, seq: -1, measurements: [] }))
  await agent.publishRaw(topics.info('dev-1'), JSON.stringify({ v: 2 }))
  await agent.publishRaw(topics.jobState('dev-1', jobId), JSON.stringify({ v: 1, deviceId: 'dev-1', jobId, state: 'DANCING', time: new Date().toISOString() }))
  // Well-formed, but for another device or another device's job.
  await agent.publishRaw(topics.results('dev-1'), JSON.stringify({ v: 1, deviceId: 'dev-2', jobId, seq: 1, measurements: [agent.measurement(key)] }))
  await agent.publishRaw(topics.results('dev-1'), JSON.stringify({ v: 1, deviceId: 'dev-1', jobId: 'nobody-s-job', seq: 1, measurements: [agent.measurement(key)] }))
  const expected = [
    'fleetnas_mqtt_rejected_messages_total{reason="not_json",topic_kind="results"} 1',
    'fleetnas_mqtt_rejected_messages_total{reason="schema",topic_kind="results"} 1',
    'fleetnas_mqtt_rejected_messages_total{reason="schema",topic_kind="info"} 1',
    'fleetnas_mqtt_rejected_messages_total{reason="schema",topic_kind="jobState"} 1',
    'fleetnas_mqtt_rejected_messages_total{reason="device_mismatch",topic_kind="results"} 1',
    'fleetnas_mqtt_rejected_messages_total{reason="unknown_job",topic_kind="results"} 1',
  ]
  const metrics = await waitFor('all six counted', async () => {
    const text = (await api(ctl, 'GET', '/metrics')).body
    return expected.every((l) => text.includes(l)) && text
  })
  t.ok(metrics)
  t.equal(ctl.store.measurements.count(), 0, 'nothing stored')
  t.equal(agent.acks.length, 0, 'nothing acked')
  t.equal(ctl.store.devices.get('dev-1')?.hardwareProfile, 'test-box', 'a bad info message changed nothing')
})
