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
