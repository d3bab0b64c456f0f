import t from 'tap'
import Database from 'better-sqlite3'
import path from 'node:path'
import { tempDir } from '../testing/harness.ts'
import { openStore, DB_FILE } from './db.ts'
import { SCHEMA_VERSION, migrate } from './migrations.ts'

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
