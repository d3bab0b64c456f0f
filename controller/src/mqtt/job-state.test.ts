import t, { type Test } from 'tap'
import { encodeMessage, PROTOCOL_VERSION, topics, type AgentJobState, type JobMessage } from '@fleetnas/shared'
import { openStore } from '../store/db.ts'
import { PROGRESS_REFRESH_MS, Scheduler } from '../campaigns/scheduler.ts'
import { fakeMeasurement } from '../testing/fake-agent.ts'
import { silentLogger, tempDir } from '../testing/harness.ts'
import { IngestQueue } from './ingest-queue.ts'
import { createDispatcher } from './dispatcher.ts'

const DEVICE = 'dev-1'
const PROFILE = 'box'
const TIMEOUT_MS = 3 * PROGRESS_REFRESH_MS

/** Store, scheduler, ingest queue and dispatcher in process, on a clock the test moves. */
function setup(t: Test) {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  let clock = Date.parse('2026-01-02T03:00:00.000Z')
  const now = () => new Date(clock)
  const log = silentLogger()
  const jobs: JobMessage[] = []
  const publisher = {
    publish: async (topic: string, payload: string) => {
      if (topic === topics.jobs(DEVICE)) jobs.push(JSON.parse(payload))
    },
  }
  const scheduler = new Scheduler({ store, publisher, log, defaults: { executionTimeoutMs: TIMEOUT_MS, maxRetries: 1 }, intervalMs: 60_000, now })
  const ingest = new IngestQueue({ store, scheduler, publisher, log, now: () => now().toISOString() })
  t.teardown(() => ingest.stop())
  const dispatch = createDispatcher({ store, ingest, scheduler, publisher, log, now: () => now().toISOString() })
  const send = (topic: string, payload: string) => dispatch(topic, Buffer.from(payload))
  send(
    topics.info(DEVICE),
    encodeMessage('info', {
      v: PROTOCOL_VERSION,
      deviceId: DEVICE,
      hardwareProfile: PROFILE,
      inventory: { cpuModel: 'cpu', cpuVendor: 'v', cores: 2, physicalCores: 2, maxFrequencyMHz: 1000, memoryBytes: 1e9, os: 'linux', arch: 'x64', hostname: 'h', model: 'm', gpus: [] },
      runtimes: [{ name: 'onnxruntime', version: '1', backends: ['cpu'] }],
      threads: 1,
      agentVersion: '1',
      time: now().toISOString(),
    }),
  )
  send(topics.status(DEVICE), encodeMessage('status', { v: PROTOCOL_VERSION, deviceId: DEVICE, state: 'online', agentVersion: '1', time: now().toISOString() }))
  const { id: campaignId } = scheduler.createCampaign({ name: 'c', searchSpace: 'default', sample: 4, seed: 1, runtimes: ['onnxruntime'], targets: { devices: [DEVICE] } })
  const job = jobs[0]
  const state = (s: AgentJobState, done?: number) =>
    send(
      topics.jobState(DEVICE, job.jobId),
      encodeMessage('jobState', { v: PROTOCOL_VERSION, deviceId: DEVICE, jobId: job.jobId, state: s, ...(done !== undefined && { progress: { done, total: 4 } }), time: now().toISOString() }),
    )
  const results = (seq: number, keys: string[]) =>
    send(topics.results(DEVICE), encodeMessage('results', { v: PROTOCOL_VERSION, deviceId: DEVICE, jobId: job.jobId, seq, measurements: keys.map((k) => fakeMeasurement({}, k)) }))
  const stored = () =>
    store.db.prepare<[], { lastProgress: string; agentDone: number | null; state: string }>(`SELECT last_progress AS lastProgress, agent_done AS agentDone, state FROM executions`).get()!
  const lastSeen = () => store.devices.get(DEVICE)!.lastSeen
  const changes = () => (store.db.prepare(`SELECT total_changes() AS n`).get() as { n: number }).n
  return {
    store, scheduler, ingest, job, campaignId, state, results, stored, lastSeen, changes,
    advance: (ms: number) => void (clock += ms),
    iso: () => now().toISOString(),
  }
}

t.test('an IN_PROGRESS moments after the last progress write writes nothing, and still holds off the timeout', async (t) => {
  const f = setup(t)
  f.state('ACCEPTED')
  const accepted = f.iso()
  t.match(f.stored(), { state: 'IN_PROGRESS', lastProgress: accepted })

  f.advance(PROGRESS_REFRESH_MS / 2)
  const before = f.changes()
  f.state('IN_PROGRESS', 1)
  t.equal(f.changes(), before, 'no row written')
  t.match(f.stored(), { lastProgress: accepted, agentDone: null })
  t.equal(f.lastSeen(), accepted)

  f.advance(PROGRESS_REFRESH_MS)
  f.state('IN_PROGRESS', 2)
  t.match(f.stored(), { lastProgress: f.iso(), agentDone: 2 }, 'a report past the refresh gap is written')
  t.equal(f.lastSeen(), f.iso())
  const written = Date.parse(f.iso())

  // Noted in memory only, it counts for the timeout as if it were stored.
  f.advance(PROGRESS_REFRESH_MS / 2)
  f.state('IN_PROGRESS', 3)
  t.equal(Date.parse(f.stored().lastProgress), written)
  f.advance(TIMEOUT_MS - PROGRESS_REFRESH_MS / 4)
  f.scheduler.checkTimeouts()
  t.equal(f.stored().state, 'IN_PROGRESS', 'not timed out: the last report was less than the timeout ago')
  f.advance(PROGRESS_REFRESH_MS / 2)
  f.scheduler.checkTimeouts()
  t.equal(f.store.campaigns.execution(`${f.campaignId}-e1`)?.attempts, 2, 'timed out and retried once the last report is older than the timeout')
})

t.test('results keep the clock fresh; reports about the job after its last batch change nothing', async (t) => {
  const f = setup(t)
  f.state('ACCEPTED')
  f.advance(PROGRESS_REFRESH_MS * 2)
  f.results(0, f.job.blocks.slice(0, 2))
  f.ingest.stop()
  t.match(f.stored(), { lastProgress: f.iso() }, 'the stored batch wrote the clock')
  const before = f.changes()
  f.state('IN_PROGRESS', 2)
  t.equal(f.changes(), before, 'the report right after the batch writes nothing')

  const g = setup(t)
  g.state('ACCEPTED')
  g.results(0, g.job.blocks)
  g.ingest.stop()
  t.equal(g.stored().state, 'SUCCEEDED', 'the last batch completed the execution')
  const after = g.changes()
  g.state('IN_PROGRESS', 4)
  g.state('SUCCEEDED', 4)
  t.equal(g.changes(), after, 'late news about the finished job writes nothing')
  t.equal(g.stored().state, 'SUCCEEDED')

  g.advance(PROGRESS_REFRESH_MS)
  g.state('SUCCEEDED', 4)
  t.equal(g.lastSeen(), g.iso(), 'past the refresh gap a report is taken as before: last_seen written')
  t.equal(g.stored().state, 'SUCCEEDED')
})

t.test('a job state for another device is rejected, whatever the progress clock says', async (t) => {
  const f = setup(t)
  f.state('ACCEPTED')
  t.notOk(f.scheduler.isRoutineJobState('dev-2', { v: PROTOCOL_VERSION, deviceId: 'dev-2', jobId: f.job.jobId, state: 'IN_PROGRESS', time: f.iso() }))
  t.ok(f.scheduler.isRoutineJobState('dev-1', { v: PROTOCOL_VERSION, deviceId: 'dev-1', jobId: f.job.jobId, state: 'IN_PROGRESS', time: f.iso() }))
  t.notOk(f.scheduler.isRoutineJobState('dev-1', { v: PROTOCOL_VERSION, deviceId: 'dev-1', jobId: f.job.jobId, state: 'FAILED', time: f.iso() }), 'a failure of a job in progress is never routine')
})
