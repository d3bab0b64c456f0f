/**
 * Several controller processes share the ingest (issue 13, "past one machine"): one mosquitto with
 * the shipped config, two `fleetnas controller start` processes on one SQLite file (WAL), both in
 * ingest group `g` (MQTT 5 shared subscription `$share/g/.../results`), one of them scheduling and
 * the other ingest-only (--no-scheduling). A campaign to simulated agents must end SUCCEEDED with
 * every block of every execution stored exactly once, every batch acked, and both processes
 * having stored batches.
 */
import t from 'tap'
import { startFakeAgent, type FakeAgent } from '../controller/src/testing/fake-agent.ts'
import { mosquittoSkipReason, startMosquitto } from './helpers/mosquitto.ts'
import { tempDir, until } from './helpers/fleet.ts'
import { readStoredCampaign, startControllerProcess, type ControllerProcess } from './helpers/controller-process.ts'

const DEVICES = 12
const BLOCKS = 30
const BATCH = 3
const SECRET = 'ingest-group-secret'
const CONTROLLER_USER = 'fleetnas-controller'

const metric = async (ctl: ControllerProcess, name: string): Promise<number> => {
  const text = await ctl.api.requestText('GET', '/metrics')
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.slice(name.length + 1)) : NaN
}

t.test('two controller processes share the ingest of one campaign through a shared subscription', { skip: mosquittoSkipReason() }, async (t) => {
  const ids = Array.from({ length: DEVICES }, (_, i) => `grp-${i + 1}`)
  const users: Record<string, string> = { [CONTROLLER_USER]: SECRET }
  for (const id of ids) users[id] = SECRET
  const broker = await startMosquitto({ users })
  t.teardown(broker.stop)
  const dir = await tempDir('fleetnas-ingest-group-')
  t.teardown(dir.remove)

  const common = { dataDir: dir.path, broker: broker.url, brokerUsername: CONTROLLER_USER, brokerPassword: SECRET, insecure: true }
  const scheduling = await startControllerProcess({ ...common, extraArgs: ['--ingest-group', 'g'] })
  t.teardown(scheduling.stop)
  const worker = await startControllerProcess({ ...common, extraArgs: ['--ingest-group', 'g', '--no-scheduling', '--mqtt-client-id', 'fleetnas-ingest-test-b'] })
  t.teardown(worker.stop)
  const context = () => `--- scheduling process:\n${scheduling.output()}\n--- ingest-only process:\n${worker.output()}\n--- mosquitto:\n${broker.log()}`

  const agents: FakeAgent[] = []
  t.teardown(() => Promise.all(agents.map((a) => a.stop())))
  for (const id of ids) agents.push(await startFakeAgent({ url: broker.url, deviceId: id, username: id, password: SECRET, batchSize: BATCH }))
  await until('every device online', async () => ((await metric(scheduling, 'fleetnas_devices_online')) === DEVICES ? true : undefined), 30_000)

  const { id: campaignId } = await scheduling.api.post<{ id: string }>('/v1/campaigns', {
    name: 'ingest-group',
    searchSpace: 'default',
    sample: BLOCKS,
    targets: { hardwareProfiles: ['test-box'] },
  })
  const view = await until(
    'the campaign to end',
    async () => {
      const c = await scheduling.api.get<{ state: string; progress: { total: number; succeeded: number; failed: number } }>(`/v1/campaigns/${campaignId}`)
      return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(c.state) ? c : undefined
    },
    120_000,
  )
  t.equal(view.state, 'SUCCEEDED', `campaign SUCCEEDED${view.state === 'SUCCEEDED' ? '' : `\n${context()}`}`)
  t.same(view.progress, { total: DEVICES * BLOCKS, succeeded: DEVICES * BLOCKS, failed: 0 }, 'every block of every device')

  const batchesPerDevice = Math.ceil(BLOCKS / BATCH)
  await until('every batch acked', async () => (agents.every((a) => a.unacked() === 0) ? true : undefined), 30_000)
  for (const a of agents) t.equal(a.ackLatencyMs.length, batchesPerDevice, `${a.client.options.clientId}: every batch acked once`)

  const stored = await readStoredCampaign(dir.path, campaignId)
  t.equal(stored.executions.length, DEVICES, 'one execution per device')
  for (const e of stored.executions) {
    t.equal(e.blockRows, BLOCKS, `${e.deviceId}: one row per block`)
    t.equal(e.distinctBlocks, BLOCKS, `${e.deviceId}: every block`)
    t.same(e.duplicates, [], `${e.deviceId}: nothing stored twice`)
  }
  t.equal(await metric(scheduling, 'fleetnas_result_batches_stored'), DEVICES * batchesPerDevice, 'every batch stored once (unique jobId, seq)')

  const byScheduling = await metric(scheduling, 'fleetnas_ingest_batches_total')
  const byWorker = await metric(worker, 'fleetnas_ingest_batches_total')
  t.ok(byScheduling > 0, `the scheduling process stored batches (${byScheduling})`)
  t.ok(byWorker > 0, `the ingest-only process stored batches (${byWorker})`)
  // At least: a delivery the broker repeats (QoS 1) is counted again, and stored once.
  t.ok(byScheduling + byWorker >= DEVICES * batchesPerDevice, 'every batch reached a process of the group')

  const lut = await scheduling.api.get<{ entries: unknown[] }>('/v1/luts/test-box?runtime=onnxruntime&threads=1')
  t.equal(lut.entries.length, BLOCKS, 'the LUT has every block, whichever process stored it')
})
