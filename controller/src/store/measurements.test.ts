import t from 'tap'
import type { Measurement } from '@fleetnas/shared'
import { tempDir } from '../testing/harness.ts'
import { openStore } from './db.ts'

// The insert binds its 26 values by position (see measurements.ts): a swapped pair would store
// silently wrong figures, so every column is read back, each with a value no other column has.
t.test('a stored measurement keeps every field in its own column', async (t) => {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  const now = '2026-01-02T03:04:05.000Z'
  store.devices.recordStatus('dev-1', 'online', '1', now)
  const m: Measurement = {
    key: 'conv-k3',
    kind: 'block',
    runtime: 'tfjs',
    backend: 'wasm',
    threads: 3,
    medianMs: 1.5,
    p10Ms: 1.25,
    p90Ms: 1.75,
    meanMs: 1.625,
    stdMs: 0.125,
    cv: 0.0625,
    samples: 40,
    rounds: 4,
    noisy: true,
    overheadMs: 0.03125,
    ciLowMs: 1.375,
    ciHighMs: 1.6875,
    belowOverhead: true,
    before: { temperatureC: 51 },
    after: { temperatureC: 55, throttled: true },
    time: '2026-01-02T03:04:00.000Z',
  }
  const owner = { jobId: 'job-1', seq: 7, deviceId: 'dev-1', executionId: 'exe-1', campaignId: 'camp-1', hardwareProfile: 'box' }
  const outcome = store.transaction(() => store.measurements.insertBatch(owner, [m], now))
  t.same(outcome, { fresh: true, stored: [m], duplicates: 0 })
  const row = store.db.prepare(`SELECT * FROM measurements`).get()
  t.same(row, {
    id: 1,
    job_id: 'job-1',
    seq: 7,
    execution_id: 'exe-1',
    campaign_id: 'camp-1',
    device_id: 'dev-1',
    hardware_profile: 'box',
    kind: 'block',
    key: 'conv-k3',
    runtime: 'tfjs',
    backend: 'wasm',
    threads: 3,
    median_ms: 1.5,
    p10_ms: 1.25,
    p90_ms: 1.75,
    mean_ms: 1.625,
    std_ms: 0.125,
    cv: 0.0625,
    samples: 40,
    rounds: 4,
    noisy: 1,
    overhead_ms: 0.03125,
    environment: JSON.stringify({ before: m.before, after: m.after }),
    measured_at: '2026-01-02T03:04:00.000Z',
    ci_low_ms: 1.375,
    ci_high_ms: 1.6875,
    below_overhead: 1,
  })
  t.same(store.measurements.latestEnvironment('dev-1'), { measuredAt: m.time, temperatureC: 55, throttled: true })

  const again = store.transaction(() => store.measurements.insertBatch(owner, [m], now))
  t.same(again, { fresh: false, stored: [], duplicates: 0 }, 'the same (jobId, seq) again stores nothing')
  const other = store.transaction(() => store.measurements.insertBatch({ ...owner, seq: 8 }, [{ ...m, medianMs: 9 }], now))
  t.same(other, { fresh: true, stored: [], duplicates: 1 }, 'the same target of the execution in a new batch is a duplicate, not a second row')
  t.equal(store.measurements.count(), 1)
})

// A batch's campaign targets go to execution_blocks in one statement per MAX_KEYS keys: every
// stored target exactly once, whatever the batch size, and nothing that is not a campaign key.
t.test('a batch marks each stored campaign target of its execution once, in chunks', async (t) => {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  const now = '2026-01-02T03:04:05.000Z'
  store.devices.recordStatus('dev-1', 'online', '1', now)
  const campaignKeys = Array.from({ length: 550 }, (_, i) => ({ kind: 'block' as const, key: `k${i}` }))
  const settings = { warmupRuns: 0, warmupMs: 0, minRuns: 1, minTimeMs: 0, maxRuns: 1, rounds: 1, maxCv: 1, referenceEvery: 0 }
  store.campaigns.create(
    { id: 'camp-1', name: 'c', runtimes: ['onnxruntime'], settings, targets: {}, executionTimeoutMs: 60_000, maxRetries: 0 },
    campaignKeys,
    [{ id: 'exe-1', deviceId: 'dev-1', runtime: 'onnxruntime', threads: 1 }],
    now,
  )
  const m = (key: string, kind: Measurement['kind'] = 'block'): Measurement => ({
    key, kind, runtime: 'onnxruntime', backend: 'cpu', threads: 1, medianMs: 1, p10Ms: 1, p90Ms: 1, meanMs: 1, stdMs: 0, cv: 0, samples: 1, rounds: 1, noisy: false, time: now,
  })
  const owner = { jobId: 'job-1', seq: 0, deviceId: 'dev-1', executionId: 'exe-1', campaignId: 'camp-1', hardwareProfile: 'box' }
  // 600 blocks (50 of them not campaign keys), k0 twice, and an empty-graph reading.
  const first = [...Array.from({ length: 600 }, (_, i) => m(`k${i}`)), m('k0'), m('empty-8x8', 'empty')]
  const outcome = store.transaction(() => store.measurements.insertBatch(owner, first, now))
  t.equal(outcome.stored.length, 601, 'every distinct target and the empty reading stored')
  t.equal(outcome.duplicates, 1, 'the repeated block is a duplicate')
  const stored = store.campaigns.storedKeys('exe-1')
  t.equal(stored.length, 550, 'only campaign keys count as stored targets')
  t.same(new Set(stored), new Set(campaignKeys.map((k) => k.key)))
  t.equal(store.campaigns.execution('exe-1')?.done, 550)

  const second = store.transaction(() => store.measurements.insertBatch({ ...owner, seq: 1 }, [m('k1'), m('k549')], now))
  t.same(second, { fresh: true, stored: [], duplicates: 2 }, 'targets the execution has are not stored again')
  t.equal(store.campaigns.storedKeys('exe-1').length, 550)
  t.equal(store.measurements.count(), 601)
})

// The ingest queue stores a batch in a transaction; a row the store refuses rolls the whole batch back.
t.test('a batch with a row the store refuses changes nothing', async (t) => {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  const now = '2026-01-02T03:04:05.000Z'
  const good: Measurement = {
    key: 'k0', kind: 'block', runtime: 'onnxruntime', backend: 'cpu', threads: 1, medianMs: 1, p10Ms: 1, p90Ms: 1, meanMs: 1, stdMs: 0, cv: 0, samples: 1, rounds: 1, noisy: false, time: now,
  }
  // Past the schema (a bug on the controller's side): measured_at is NOT NULL.
  const bad = { ...good, key: 'k1', time: null } as unknown as Measurement
  const owner = { jobId: 'job-1', seq: 0, deviceId: 'dev-1', executionId: 'exe-1', campaignId: 'camp-1', hardwareProfile: 'box' }
  t.throws(() => store.transaction(() => store.measurements.insertBatch(owner, [good, bad], now)), { code: 'SQLITE_CONSTRAINT_NOTNULL' })
  t.equal(store.measurements.count(), 0)
  t.equal(store.measurements.countBatches(), 0, 'the batch is not recorded: its resend is stored, not taken for a duplicate')
  t.same(store.campaigns.storedKeys('exe-1'), [])
})
