/**
 * The controller's store: one SQLite file (`<dataDir>/fleetnas.db`) in WAL mode, migrated on open,
 * with prepared statements grouped per area. better-sqlite3 is synchronous, so a handler's
 * transaction cannot interleave with another's.
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

export const DB_FILE = 'fleetnas.db'

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
  } catch (e) {
    throw StoreOpen(file, (e as Error).message)
  }
  migrate(db, file)
  return {
    db,
    file,
    devices: deviceQueries(db),
    campaigns: campaignQueries(db),
    measurements: measurementQueries(db),
    luts: lutQueries(db),
    counters: counterQueries(db),
    latencyModels: latencyModelQueries(db),
    architectureRequests: architectureRequestQueries(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    close: () => {
      if (db.open) db.close()
    },
  }
}
