import t from 'tap'
import { blockKey, type BlockSpec } from '@fleetnas/shared'
import { api, silentLogger, startTestController, tempDir, waitFor } from '../testing/harness.ts'
import { startController } from '../controller.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'

const blocks: BlockSpec[] = [16, 24, 32].map((c) => ({ op: 'conv', kernel: 3, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: c }))
const keys = blocks.map(blockKey)

async function deviceOnline(ctl: Awaited<ReturnType<typeof startTestController>>, id: string) {
  await waitFor(`${id} online with info`, () => {
    const d = ctl.store.devices.get(id)
    return d?.status === 'online' && d.hardwareProfile !== null
  })
}

t.test('a campaign over two devices reaches SUCCEEDED and fills the LUT', async (t) => {
  const ctl = await startTestController(t)
  const a = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-a', latencyMs: () => 2, batchSize: 2 })
  const b = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-b', latencyMs: () => 4, batchSize: 2 })
  t.teardown(() => Promise.all([a.stop(), b.stop()]))
  await deviceOnline(ctl, 'dev-a')
  await deviceOnline(ctl, 'dev-b')

  const created = await api(ctl, 'POST', '/v1/campaigns', { name: 'small', blocks, targets: { hardwareProfiles: ['test-box'] } })
  t.equal(created.status, 201)
  const id = created.json.id
  const done = await waitFor('campaign SUCCEEDED', async () => {
    const c = (await api(ctl, 'GET', `/v1/campaigns/${id}`)).json
    return c.state === 'SUCCEEDED' && c
  })
  t.same(done.progress, { total: 6, succeeded: 6, failed: 0 })
  t.equal(done.executions.length, 2)
  for (const e of done.executions) t.match(e, { state: 'SUCCEEDED', attempts: 1, done: 3, total: 3, runtime: 'onnxruntime', threads: 1 })
  t.same(a.jobs[0].blocks, keys, 'the job carries canonical block keys')
  await waitFor('every batch acked', () => a.acks.length === 2 && b.acks.length === 2)
  t.same(a.acks.map((ack) => ack.seqs), [[0], [1]], 'acks name the batches')

  const lut = (await api(ctl, 'GET', '/v1/luts/test-box?runtime=onnxruntime&threads=1')).json
  t.equal(lut.entries.length, 3)
  t.match(lut.entries[0], { medianMs: 3, devices: 2, spreadMs: 2, backend: 'cpu' })
})

t.test('a timed-out execution is retried with the stored keys skipped', async (t) => {
  const ctl = await startTestController(t)
  // First job: measure one block, then go silent. Second job: run.
  let firstJobId = ''
  const agent = await startFakeAgent({
    url: ctl.mqttUrl,
    deviceId: 'dev-slow',
    batchSize: 1,
    onJob: (job, nth) => {
      if (nth === 1) {
        firstJobId = job.jobId
        void agent.client.publishAsync(
          `fleetnas/v1/devices/dev-slow/results`,
          JSON.stringify({ v: 1, deviceId: 'dev-slow', jobId: job.jobId, seq: 0, measurements: [agent.measurement(job.blocks[0])] }),
          { qos: 1 },
        )
        return 'ignore'
      }
      return 'run'
    },
  })
  t.teardown(() => agent.stop())
  await deviceOnline(ctl, 'dev-slow')

  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'retry', blocks, targets: { devices: ['dev-slow'] }, executionTimeoutMs: 300, maxRetries: 1 })
  const done = await waitFor('campaign SUCCEEDED after a retry', async () => {
    const c = (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json
    return c.state === 'SUCCEEDED' && c
  })
  t.equal(agent.jobs.length, 2)
  t.not(agent.jobs[1].jobId, firstJobId, 'the retry is a new job')
  t.same(agent.jobs[1].skip, [keys[0]], 'the retry skips the block already stored')
  t.match(done.executions[0], { state: 'SUCCEEDED', attempts: 2, retries: 1, done: 3 })
  t.match(done.executions[0].reason, /timed out|no progress/)
  t.same(agent.cancels.map((c) => c.jobId), [firstJobId], 'the stuck job was told to stop')
})

t.test('an execution that keeps timing out ends TIMED_OUT and the campaign FAILED', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-dead', onJob: () => 'ignore' })
  t.teardown(() => agent.stop())
  await deviceOnline(ctl, 'dev-dead')
  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'dead', blocks, targets: { devices: ['dev-dead'] }, executionTimeoutMs: 200, maxRetries: 1 })
  const c = await waitFor('campaign FAILED', async () => {
    const c = (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json
    return c.state === 'FAILED' && c
  })
  t.match(c.executions[0], { state: 'TIMED_OUT', attempts: 2, retries: 1 })
  t.same(c.progress, { total: 3, succeeded: 0, failed: 3 })
})

t.test('cancel stops the device and marks executions CANCELED', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-hold', onJob: () => 'hold' })
  t.teardown(() => agent.stop())
  await deviceOnline(ctl, 'dev-hold')
  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'to-cancel', blocks, targets: { devices: ['dev-hold'] } })
  await waitFor('execution IN_PROGRESS', async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'IN_PROGRESS')
  const canceled = await api(ctl, 'POST', `/v1/campaigns/${json.id}/cancel`)
  t.equal(canceled.status, 200)
  t.equal(canceled.json.state, 'CANCELED')
  t.equal(canceled.json.executions[0].state, 'CANCELED')
  await waitFor('cancel message at the agent', () => agent.cancels.length === 1)
  t.equal(agent.cancels[0].jobId, agent.jobs[0].jobId)
  const again = await api(ctl, 'POST', `/v1/campaigns/${json.id}/cancel`)
  t.equal(again.status, 200, 'cancel is idempotent')
})

t.test('an offline device waits QUEUED and gets its job when it comes online', async (t) => {
  const ctl = await startTestController(t)
  const first = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-late' })
  await deviceOnline(ctl, 'dev-late')
  first.crash()
  await waitFor('device offline (Last Will)', () => ctl.store.devices.get('dev-late')?.status === 'offline')
  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'late', blocks, targets: { devices: ['dev-late'] } })
  const queued = (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json
  t.equal(queued.executions[0].state, 'QUEUED')
  t.equal(queued.executions[0].attempts, 0)
  const again = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'dev-late' })
  t.teardown(() => again.stop())
  await waitFor('campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'SUCCEEDED')
})

t.test('the scheduler survives a controller restart', async (t) => {
  const dataDir = tempDir(t)
  const first = await startController({ dataDir, httpPort: 0, mqttPort: 0, insecure: true, schedulerIntervalMs: 50 }, { logger: silentLogger(), env: {} })
  const port = Number(new URL(first.mqttUrl).port)
  const holder = await startFakeAgent({ url: first.mqttUrl, deviceId: 'dev-r', onJob: () => 'hold' })
  await deviceOnline(first, 'dev-r')
  const { json } = await api(first, 'POST', '/v1/campaigns', { name: 'restart', blocks, targets: { devices: ['dev-r'] } })
  await waitFor('IN_PROGRESS', async () => (await api(first, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'IN_PROGRESS')
  const jobId = holder.jobs[0].jobId
  holder.crash()
  await first.stop()

  const second = await startController({ dataDir, httpPort: 0, mqttPort: port, insecure: true, schedulerIntervalMs: 50 }, { logger: silentLogger(), env: {} })
  t.teardown(() => second.stop())
  t.equal(second.store.devices.get('dev-r')?.status, 'offline', 'nobody is online on a fresh embedded broker')
  const agent = await startFakeAgent({ url: second.mqttUrl, deviceId: 'dev-r' })
  t.teardown(() => agent.stop())
  const c = await waitFor('campaign SUCCEEDED after the restart', async () => {
    const c = (await api(second, 'GET', `/v1/campaigns/${json.id}`)).json
    return c.state === 'SUCCEEDED' && c
  })
  t.equal(agent.jobs[0].jobId, jobId, 'the unfinished job was sent again to the returning device')
  t.equal(c.executions[0].attempts, 1)
})
