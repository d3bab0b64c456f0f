/**
 * The controller's store: one SQLite file (`<dataDir>/fleetnas.db`) in WAL mode, migrated on open,
 * with prepared statements grouped per area. better-sqlite3 is synchronous, so a handler's
 * transaction cannot interleave with another's in this process; other processes sharing the file
 * (ingest workers) wait for the write lock up to busy_timeout.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { StoreOpen } from '../errors.ts'
import { migrate } from './migrations.ts'
import { deviceQueries } from './devices.ts'
import { campaignQueries } from './campaigns.ts'
import { measurementQueries } from './measurements.ts'
import { lutQueries } from './luts.ts'
import { counterQueries } from './counters.ts'
import { latencyModelQueries } from './latency-models.ts'
import { architectureRequestQueries } from './architecture-requests.ts'
import { foldPendingLutRows } from '../luts/builder.ts'

export const DB_FILE = 'fleetnas.db'

/**
 * WAL pages after which a commit checkpoints (SQLite's default is 1,000). The checkpoint runs in
 * the commit that crosses the mark, on the event loop, and with synchronous = NORMAL it is where
 * SQLite fsyncs: at 1,000 pages, ingest at full rate checkpointed every few drains, and the
 * controller waited on the disk (fleet-ingest-only: wall time 25% longer than at 10,000; CPU 5% more,
 * since pages rewritten by every drain were copied at each checkpoint). The price: power loss can
 * roll back up to ~40 MB of committed WAL instead of ~4 MB (re-measured blocks, never a double row;
 * a process crash loses nothing either way).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000

export interface Store {
  readonly db: Database.Database
  readonly file: string
  readonly devices: ReturnType<typeof deviceQueries>
  readonly campaigns: ReturnType<typeof campaignQueries>
  readonly measurements: ReturnType<typeof measurementQueries>
  readonly luts: ReturnType<typeof lutQueries>
  readonly counters: ReturnType<typeof counterQueries>
  readonly latencyModels: ReturnType<typeof latencyModelQueries>
  readonly architectureRequests: ReturnType<typeof architectureRequestQueries>
  /** Runs fn in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T
  /**
   * The same, taking the write lock at BEGIN (BEGIN IMMEDIATE): with several controller processes on
   * one file, a transaction that reads first and writes later could otherwise fail at once with
   * SQLITE_BUSY when another process wrote in between, instead of waiting busy_timeout.
   */
  writeTransaction<T>(fn: () => T): T
  /** Re-aggregates the LUT rows results batches marked; returns how many. */
  foldLuts(): number
  close(): void
}

export function openStore(dataDir: string): Store {
  const file = path.join(dataDir, DB_FILE)
  let db: Database.Database
  try {
    fs.mkdirSync(dataDir, { recursive: true })
    db = new Database(file)
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    db.pragma('foreign_keys = ON')
    db.pragma('synchronous = NORMAL')
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
  } catch (e) {
    throw StoreOpen(file, (e as Error).message)
  }
  migrate(db, file)
  const fold = db.transaction(() => foldPendingLutRows(luts, new Date().toISOString()))
  const foldLuts = () => (luts.hasPending() ? fold.immediate() : 0)
  const luts = lutQueries(db, { beforeRead: foldLuts })
  // One transaction function for every caller: better-sqlite3's db.transaction() builds four
  // wrappers and their properties on each call, a cost paid per results drain, per savepoint of the
  // scheduler in it and per job state.
  const run = db.transaction((fn: () => unknown) => fn())
  return {
    db,
    file,
    devices: deviceQueries(db),
    campaigns: campaignQueries(db),
    measurements: measurementQueries(db),
    luts,
    counters: counterQueries(db),
    latencyModels: latencyModelQueries(db),
    architectureRequests: architectureRequestQueries(db),
    transaction: <T>(fn: () => T): T => run(fn) as T,
    writeTransaction: <T>(fn: () => T): T => run.immediate(fn) as T,
    foldLuts,
    close: () => {
      if (db.open) db.close()
    },
  }
}
