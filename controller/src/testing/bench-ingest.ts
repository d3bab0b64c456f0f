/** Rough figures: a default-search-space job's size, and how fast results batches are stored and acked. */
import { api, startTestController, waitFor } from './harness.ts'
import { startFakeAgent } from './fake-agent.ts'

const teardowns: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) }
const ctl = await startTestController(t)
let started = 0
const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'bench-1', batchSize: 50, onJob: () => ((started = performance.now()), 'run') })
await waitFor('registered', () => ctl.store.devices.get('bench-1')?.hardwareProfile)
const t0 = performance.now()
const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'bench', searchSpace: 'default', targets: { devices: ['bench-1'] } })
console.log('create campaign (default space) ms', (performance.now() - t0).toFixed(0))
await waitFor('job', () => agent.jobs.length === 1)
console.log('job keys', agent.jobs[0].blocks.length, 'job bytes', JSON.stringify(agent.jobs[0]).length)
await waitFor('done', async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'SUCCEEDED', 300_000)
const ms = performance.now() - started
console.log('ingested', ctl.store.measurements.count(), 'measurements in', ms.toFixed(0), 'ms =', ((ctl.store.measurements.count() / ms) * 1000).toFixed(0), '/s (batches of 50, incl. fake agent)')
const t1 = performance.now()
const lut = await api(ctl, 'GET', '/v1/luts/test-box')
console.log('GET LUT entries', lut.json.entries.length, 'ms', (performance.now() - t1).toFixed(0))
await agent.stop()
for (const fn of teardowns.reverse()) await fn()
