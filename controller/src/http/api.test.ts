import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { blockKey, type BlockSpec } from '@fleetnas/shared'
import { api, startTestController, tempDir, silentLogger, waitFor } from '../testing/harness.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'
import { startController } from '../controller.ts'

const block: BlockSpec = { op: 'dwsep', kernel: 5, stride: 2, pool: false, input: { h: 16, w: 16, c: 8 }, outChannels: 16 }

t.test('auth: /v1 needs the bearer token; /healthz, /metrics and /docs are open', async (t) => {
  const ctl = await startTestController(t, { insecure: false, apiToken: 'secret-token-123' })
  t.equal(ctl.apiToken, 'secret-token-123')
  const none = await api(ctl, 'GET', '/v1/devices', undefined, '')
  t.equal(none.status, 401)
  t.equal(none.json.code, 'FLEETNAS_ERR_AUTH_REQUIRED')
  t.same(Object.keys(none.json).sort(), ['code', 'error', 'message', 'statusCode'])
  t.equal((await api(ctl, 'GET', '/v1/devices', undefined, 'wrong-token-456')).status, 401)
  t.equal((await api(ctl, 'GET', '/v1/devices')).status, 200)
  t.equal((await api(ctl, 'GET', '/healthz', undefined, '')).status, 200)
  t.equal((await api(ctl, 'GET', '/metrics', undefined, '')).status, 200)
  const docs = await api(ctl, 'GET', '/docs/json', undefined, '')
  t.equal(docs.status, 200)
  t.ok(docs.json.paths['/v1/campaigns'], 'OpenAPI lists the campaign routes')
})

t.test('without a token and without insecure, a token is generated into dataDir/api-token', async (t) => {
  const dataDir = tempDir(t)
  const ctl = await startController({ dataDir, httpPort: 0, mqttPort: 0 }, { logger: silentLogger(), env: {} })
  t.teardown(() => ctl.stop())
  t.ok(ctl.apiToken)
  t.equal(fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim(), ctl.apiToken)
  t.equal((await api(ctl, 'GET', '/v1/devices', undefined, '')).status, 401)
  t.equal((await api(ctl, 'GET', '/v1/devices')).status, 200)
})

t.test('devices: list, one, unknown id', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-1', hardwareProfile: 'rpi4', threads: 4 })
  t.teardown(() => agent.stop())
  await waitFor('device online', () => ctl.store.devices.get('pi-1')?.status === 'online')
  const list = await api(ctl, 'GET', '/v1/devices')
  t.equal(list.status, 200)
  t.match(list.json, [{ id: 'pi-1', status: 'online', hardwareProfile: 'rpi4', threads: 4, inventory: { cpuModel: 'Fake CPU' }, runtimes: [{ name: 'onnxruntime' }] }])
  t.type(list.json[0].lastSeen, 'string')
  t.match((await api(ctl, 'GET', '/v1/devices/pi-1')).json, { id: 'pi-1' })
  const missing = await api(ctl, 'GET', '/v1/devices/nope')
  t.equal(missing.status, 404)
  t.equal(missing.json.code, 'FLEETNAS_ERR_DEVICE_NOT_FOUND')
})

t.test('devices: temperature and throttling of the latest measurement that carried a reading', async (t) => {
  const ctl = await startTestController(t)
  let environment = { before: { temperatureC: 50, frequencyMHz: 1800, throttled: false }, after: { temperatureC: 55.5, throttled: false } }
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-1', hardwareProfile: 'rpi4', environment: () => environment })
  const quiet = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-2', hardwareProfile: 'rpi4' })
  t.teardown(() => Promise.all([agent.stop(), quiet.stop()]))
  await waitFor('both registered', () => ctl.store.devices.listByProfile('rpi4').length === 2)
  const measure = async (name: string) => {
    const { json } = await api(ctl, 'POST', '/v1/campaigns', { name, blocks: [block], targets: { hardwareProfiles: ['rpi4'] } })
    await waitFor(`${name} SUCCEEDED`, async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'SUCCEEDED')
  }
  t.equal((await api(ctl, 'GET', '/v1/devices/pi-1')).json.environment, null, 'nothing measured yet: no reading')
  await measure('warm')
  const one = (await api(ctl, 'GET', '/v1/devices/pi-1')).json.environment
  t.match(one, { temperatureC: 55.5, frequencyMHz: 1800, throttled: false }, 'the later reading wins, the earlier fills in')
  t.type(one.measuredAt, 'string')
  environment = { before: { temperatureC: 79, frequencyMHz: 1500, throttled: true }, after: { temperatureC: 82, throttled: false } }
  await measure('hot')
  const list = (await api(ctl, 'GET', '/v1/devices')).json
  t.match(list.find((d: { id: string }) => d.id === 'pi-1').environment, { temperatureC: 82, frequencyMHz: 1500, throttled: true }, 'throttled before or after counts')
  t.equal(list.find((d: { id: string }) => d.id === 'pi-2').environment, null, 'a device whose measurements carry no reading')
})

t.test('campaign creation errors carry codes', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-1' })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('pi-1')?.hardwareProfile)
  const post = (body: unknown) => api(ctl, 'POST', '/v1/campaigns', body)

  const noName = await post({ blocks: [block], targets: { devices: ['pi-1'] } })
  t.equal(noName.status, 400)
  t.equal(noName.json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
  t.match(noName.json.message, /name/)

  const badSample = await post({ name: 'x', searchSpace: 'default', sample: 0, targets: { devices: ['pi-1'] } })
  t.equal(badSample.json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
  t.match(badSample.json.message, /sample/)

  const noBlocks = await post({ name: 'x', targets: { devices: ['pi-1'] } })
  t.equal(noBlocks.status, 400)
  t.equal(noBlocks.json.code, 'FLEETNAS_ERR_CAMPAIGN_NO_BLOCKS')

  const badBlock = await post({ name: 'x', blocks: [{ ...block, kernel: 4 }], targets: { devices: ['pi-1'] } })
  t.equal(badBlock.status, 400)
  t.equal(badBlock.json.code, 'FLEETNAS_ERR_CAMPAIGN_BLOCK_INVALID')

  const noTargets = await post({ name: 'x', blocks: [block], targets: { hardwareProfiles: ['jetson-nano'] } })
  t.equal(noTargets.status, 409)
  t.equal(noTargets.json.code, 'FLEETNAS_ERR_CAMPAIGN_NO_TARGETS')

  const unknown = await post({ name: 'x', blocks: [block], targets: { devices: ['pi-1', 'ghost'] } })
  t.equal(unknown.status, 400)
  t.equal(unknown.json.code, 'FLEETNAS_ERR_CAMPAIGN_UNKNOWN_DEVICE')
  t.match(unknown.json.message, /ghost/)

  // Targets are checked before the keys are listed: the whole space is not built for a request
  // that cannot run, and a bad block does not hide a bad target.
  const spaceGhost = await post({ name: 'x', searchSpace: 'default', targets: { devices: ['ghost-7'] } })
  t.equal(spaceGhost.status, 400)
  t.equal(spaceGhost.json.code, 'FLEETNAS_ERR_CAMPAIGN_UNKNOWN_DEVICE')
  t.match(spaceGhost.json.message, /ghost-7/)
  const spaceNobody = await post({ name: 'x', searchSpace: 'default', targets: { hardwareProfiles: ['jetson-nano'] } })
  t.equal(spaceNobody.status, 409)
  t.equal(spaceNobody.json.code, 'FLEETNAS_ERR_CAMPAIGN_NO_TARGETS')
  t.match(spaceNobody.json.message, /jetson-nano/)
  const badBlockAndTarget = await post({ name: 'x', blocks: [{ ...block, kernel: 4 }], targets: { devices: ['ghost-8'] } })
  t.equal(badBlockAndTarget.json.code, 'FLEETNAS_ERR_CAMPAIGN_UNKNOWN_DEVICE', 'the target is checked before the blocks')
  t.equal((await api(ctl, 'GET', '/v1/campaigns')).json.length, 0, 'nothing created')

  const notFound = await api(ctl, 'GET', '/v1/campaigns/c-nope')
  t.equal(notFound.json.code, 'FLEETNAS_ERR_CAMPAIGN_NOT_FOUND')

  const sampled = await post({ name: 'sampled', searchSpace: 'default', sample: 5, seed: 42, targets: { devices: ['pi-1'] }, threads: [1, 2] })
  t.equal(sampled.status, 201)
  const c = (await api(ctl, 'GET', `/v1/campaigns/${sampled.json.id}`)).json
  t.equal(c.blocks, 5)
  t.same(c.executions.map((e: { threads: number }) => e.threads).sort(), [1, 2])
  t.equal(c.progress.total, 10)
})

t.test('request bodies are validated as sent (no type coercion); query strings are still read as numbers', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-1' })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('pi-1')?.hardwareProfile)
  const valid = { name: 'typed', blocks: [block], targets: { devices: ['pi-1'] } }
  // Each of these used to be coerced into a valid value (and a campaign created).
  const cases: [string, Record<string, unknown>][] = [
    ['body/sample', { sample: '5' }],
    ['body/sample', { sample: true }],
    ['body/seed', { seed: null }],
    ['body/maxRetries', { maxRetries: '3' }],
    ['body/executionTimeoutMs', { executionTimeoutMs: '1000' }],
    ['body/name', { name: 5 }],
    ['body/name', { name: ['typed'] }],
    ['body/threads/0', { threads: ['2'] }],
    ['body/threads', { threads: 2 }],
    ['body/runtimes', { runtimes: 'onnxruntime' }],
    ['body/targets/devices', { targets: { devices: 'pi-1' } }],
    ['body/settings/minRuns', { settings: { minRuns: '5' } }],
  ]
  for (const [field, change] of cases) {
    const res = await api(ctl, 'POST', '/v1/campaigns', { ...valid, ...change })
    t.equal(res.status, 400, `${JSON.stringify(change)}: 400`)
    t.equal(res.json?.code, 'FLEETNAS_ERR_HTTP_VALIDATION', `${JSON.stringify(change)}: validation code`)
    t.ok(String(res.json?.message).includes(field), `${JSON.stringify(change)}: message ${JSON.stringify(res.json?.message)} names ${field}`)
  }
  t.equal((await api(ctl, 'GET', '/v1/campaigns')).json.length, 0, 'nothing created')
  t.equal((await api(ctl, 'POST', '/v1/campaigns', { ...valid, sample: 5, threads: [2], maxRetries: 3 })).status, 201, 'the same values with their own types pass')

  const lut = await api(ctl, 'GET', '/v1/luts/nobody?threads=2&runtime=onnxruntime')
  t.equal(lut.json.code, 'FLEETNAS_ERR_LUT_NOT_FOUND', 'threads=2 in a query string is read as a number')
  t.match(lut.json.message, /2 thread/)
})

t.test('LUTs: median of device medians, list, JSON and CSV', async (t) => {
  const ctl = await startTestController(t)
  const key = blockKey(block)
  let piAMs = 10
  const a = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-a', hardwareProfile: 'rpi4', latencyMs: () => piAMs })
  const b = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-b', hardwareProfile: 'rpi4', latencyMs: () => 14 })
  t.teardown(() => Promise.all([a.stop(), b.stop()]))
  await waitFor('both registered', () => ctl.store.devices.listByProfile('rpi4').length === 2)
  const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'lut', blocks: [block], targets: { hardwareProfiles: ['rpi4'] } })
  await waitFor('campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'SUCCEEDED')

  const list = await api(ctl, 'GET', '/v1/luts')
  t.match(list.json, [{ hardwareProfile: 'rpi4', runtime: 'onnxruntime', threads: 1, entries: 1, devices: 2, backends: ['cpu'] }])
  const lut = (await api(ctl, 'GET', '/v1/luts/rpi4?runtime=onnxruntime&threads=1')).json
  t.match(lut, { hardwareProfile: 'rpi4', runtime: 'onnxruntime', threads: 1 })
  t.match(lut.entries[0], { key, block, medianMs: 12, devices: 2, samples: 40, spreadMs: 4, backend: 'cpu' })
  t.ok(Math.abs(lut.entries[0].p10Ms - 10.8) < 1e-9 && Math.abs(lut.entries[0].p90Ms - 13.2) < 1e-9, 'p10/p90: median of the device p10s/p90s')

  // A newer measurement of pi-a (a later campaign: an execution stores a block once) replaces its old one in the row.
  piAMs = 20
  const again = await api(ctl, 'POST', '/v1/campaigns', { name: 'lut-again', blocks: [block], targets: { devices: ['pi-a'] } })
  await waitFor('second campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${again.json.id}`)).json.state === 'SUCCEEDED')
  await waitFor('row updated', async () => (await api(ctl, 'GET', '/v1/luts/rpi4')).json.entries[0].medianMs === 17)

  const csv = await api(ctl, 'GET', '/v1/luts/rpi4?runtime=onnxruntime&threads=1&format=csv')
  t.equal(csv.status, 200)
  t.match(csv.headers['content-type'], /text\/csv/)
  const lines = csv.body.trim().split('\n')
  t.equal(lines[0], 'key,backend,median_ms,ci_low_ms,ci_high_ms,p10_ms,p90_ms,cv,samples,devices,spread_ms,overhead_ms,noisy,below_overhead,updated_at')
  t.match(lines[1], new RegExp(`^${key},cpu,17,`))

  const none = await api(ctl, 'GET', '/v1/luts/rpi4?threads=3')
  t.equal(none.status, 404)
  t.equal(none.json.code, 'FLEETNAS_ERR_LUT_NOT_FOUND')
  const bad = await api(ctl, 'GET', '/v1/luts/rpi4?runtime=caffe')
  t.equal(bad.json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
  t.match(bad.json.message, /runtime/)
})

t.test('metrics: Prometheus text with the fleet figures', async (t) => {
  const ctl = await startTestController(t)
  await api(ctl, 'GET', '/v1/devices')
  const m = await api(ctl, 'GET', '/metrics')
  t.match(m.headers['content-type'], /text\/plain/)
  for (const name of ['fleetnas_devices_online 0', 'fleetnas_measurements_stored 0', 'fleetnas_result_batches_stored 0', 'fleetnas_campaigns{state="QUEUED"} 0'])
    t.ok(m.body.includes(name), name)
  t.match(m.body, /fleetnas_http_requests_total\{method="GET",route="\/v1\/devices",status="200"\} 1/)
})

t.test('malformed JSON answers 400 with an HTTP-area code', async (t) => {
  const ctl = await startTestController(t)
  const res = await ctl.http.inject({ method: 'POST', url: '/v1/campaigns', headers: { 'content-type': 'application/json' }, payload: '{"name":' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FLEETNAS_ERR_HTTP_BAD_REQUEST')
  const missing = await ctl.http.inject({ method: 'GET', url: '/v2/nothing' })
  t.equal(missing.json().code, 'FLEETNAS_ERR_HTTP_NOT_FOUND')
})
