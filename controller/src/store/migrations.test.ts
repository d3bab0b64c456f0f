import t from 'tap'
import Database from 'better-sqlite3'
import path from 'node:path'
import { tempDir } from '../testing/harness.ts'
import { openStore, DB_FILE } from './db.ts'
import { MIGRATIONS, SCHEMA_VERSION, migrate } from './migrations.ts'

t.test('a fresh database is migrated to the current version, once', async (t) => {
  const dir = tempDir(t)
  const store = openStore(dir)
  t.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(store.db.pragma('foreign_keys', { simple: true }), 1)
  const tables = store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all()
  for (const name of ['campaigns', 'counters', 'devices', 'executions', 'jobs', 'lut_entries', 'measurements', 'result_batches'])
    t.ok(tables.includes(name), name)
  t.equal(migrate(store.db, store.file), 0, 'nothing left to apply')
  store.devices.recordStatus('d1', 'online', '1', new Date().toISOString())
  store.close()

  const again = openStore(dir)
  t.equal(again.devices.get('d1')?.status, 'online', 'data survives reopening')
  again.close()
})

t.test('a database from a newer controller is refused', async (t) => {
  const dir = tempDir(t)
  const db = new Database(path.join(dir, DB_FILE))
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  db.close()
  t.throws(() => openStore(dir), { code: 'FLEETNAS_ERR_STORE_VERSION' })
})

t.test('migration 2 keeps one row per block of an execution (the one the LUT used) and then refuses more', async (t) => {
  const dir = tempDir(t)
  const db = new Database(path.join(dir, DB_FILE))
  db.exec(MIGRATIONS[0])
  db.pragma('user_version = 1')
  db.pragma('foreign_keys = OFF') // measurement rows only: their batches do not matter here
  const insert = db.prepare(
    `INSERT INTO measurements (job_id, seq, execution_id, campaign_id, device_id, hardware_profile, kind, key, runtime, backend, threads,
       median_ms, p10_ms, p90_ms, mean_ms, std_ms, cv, samples, rounds, noisy, measured_at)
     VALUES (?, 0, ?, 'c-1', 'd1', 'p', ?, ?, 'onnxruntime', 'cpu', 1, ?, 1, 1, 1, 0, 0, 1, 1, 0, ?)`,
  )
  const row = (jobId: string, executionId: string, kind: string, key: string, medianMs: number, at: string) =>
    insert.run(jobId, executionId, kind, key, medianMs, `2026-01-01T00:00:0${at}.000Z`)
  row('c-1-e1-a1', 'c-1-e1', 'block', 'k1', 1, '1')
  row('c-1-e1-a2', 'c-1-e1', 'block', 'k1', 2, '3') // the latest: the LUT was built from this one
  row('c-1-e1-a1', 'c-1-e1', 'block', 'k1', 3, '2')
  row('c-1-e2-a1', 'c-1-e2', 'block', 'k1', 4, '1') // another execution: kept
  row('c-1-e1-a1', 'c-1-e1', 'empty', 'empty-i8x8x8', 5, '1') // calibration rows repeat by design: kept
  row('c-1-e1-a2', 'c-1-e1', 'empty', 'empty-i8x8x8', 6, '2')
  db.close()

  const store = openStore(dir)
  t.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  const left = store.db.prepare(`SELECT execution_id AS e, kind, median_ms AS ms FROM measurements ORDER BY id`).all()
  t.same(left, [
    { e: 'c-1-e1', kind: 'block', ms: 2 },
    { e: 'c-1-e2', kind: 'block', ms: 4 },
    { e: 'c-1-e1', kind: 'empty', ms: 5 },
    { e: 'c-1-e1', kind: 'empty', ms: 6 },
  ])
  store.db.pragma('foreign_keys = OFF')
  t.throws(() => store.db.prepare(
    `INSERT INTO measurements (job_id, seq, execution_id, campaign_id, device_id, kind, key, runtime, backend, threads,
       median_ms, p10_ms, p90_ms, mean_ms, std_ms, cv, samples, rounds, noisy, measured_at)
     VALUES ('c-1-e1-a3', 0, 'c-1-e1', 'c-1', 'd1', 'block', 'k1', 'onnxruntime', 'cpu', 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 'x')`,
  ).run(), /UNIQUE/, 'a second row for the block of the execution is refused')
  store.close()
})

t.test('migration 10 counts the blocks each execution had stored, and stored blocks keep counting', async (t) => {
  const dir = tempDir(t)
  const db = new Database(path.join(dir, DB_FILE))
  for (const step of MIGRATIONS.slice(0, 9)) db.exec(step)
  db.pragma('user_version = 9')
  const now = '2026-01-01T00:00:00.000Z'
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('d1', 'online', ?)`).run(now)
  db.prepare(
    `INSERT INTO campaigns (id, name, state, runtimes, settings, targets, key_count, execution_timeout_ms, max_retries, created_at, updated_at)
     VALUES ('c-1', 'c', 'IN_PROGRESS', '["onnxruntime"]', '{}', '{}', 3, 60000, 0, ?, ?)`,
  ).run(now, now)
  for (const [i, key] of ['k1', 'k2', 'k3'].entries()) db.prepare(`INSERT INTO campaign_keys (campaign_id, ord, key) VALUES ('c-1', ?, ?)`).run(i, key)
  for (const [id, threads] of [['c-1-e1', 1], ['c-1-e2', 2]] as const)
    db.prepare(`INSERT INTO executions (id, campaign_id, device_id, runtime, threads, state, created_at) VALUES (?, 'c-1', 'd1', 'onnxruntime', ?, 'IN_PROGRESS', ?)`).run(id, threads, now)
  for (const key of ['k1', 'k2']) db.prepare(`INSERT INTO execution_blocks (execution_id, key) VALUES ('c-1-e1', ?)`).run(key)
  db.close()

  const store = openStore(dir)
  t.teardown(() => store.close())
  t.same(store.campaigns.executions('c-1').map((e) => e.done), [2, 0])
  const m = { key: 'k3', kind: 'block' as const, runtime: 'onnxruntime' as const, backend: 'cpu', threads: 1, medianMs: 1, p10Ms: 1, p90Ms: 1, meanMs: 1, stdMs: 0, cv: 0, samples: 1, rounds: 1, noisy: false, time: now }
  const owner = { jobId: 'c-1-e1-a1', seq: 0, deviceId: 'd1', executionId: 'c-1-e1', campaignId: 'c-1', hardwareProfile: 'p' }
  store.transaction(() => store.measurements.insertBatch(owner, [m, { ...m, key: 'k1' }, { ...m, key: 'not-a-campaign-key' }], now))
  t.equal(store.campaigns.execution('c-1-e1')?.done, 3, 'k3 counted; k1 (stored before) and a key outside the campaign not')
  store.transaction(() => store.measurements.insertBatch({ ...owner, seq: 1 }, [m], now))
  t.equal(store.campaigns.execution('c-1-e1')?.done, 3, 'a target stored again is not counted again')
  t.equal(store.campaigns.execution('c-1-e1')?.done, store.campaigns.storedKeys('c-1-e1').length)
})
