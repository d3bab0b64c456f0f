/** Fitted latency models, one per LUT scope, with the data stamp of the LUT rows they were fitted on. */
import type Database from 'better-sqlite3'
import type { LatencyModel } from '../latency/fit.ts'
import type { LutScope } from './luts.ts'

export interface StoredLatencyModel {
  model: LatencyModel
  /** `LutQueries.dataStamp` when fitted: a different stamp now means the model is stale. */
  dataStamp: string
  fittedAt: string
}

export function latencyModelQueries(db: Database.Database) {
  const get = db.prepare<[string, string, number, string], { model: string; dataStamp: string; fittedAt: string }>(
    `SELECT model, data_stamp AS dataStamp, fitted_at AS fittedAt FROM latency_models
     WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND backend = ?`,
  )
  const put = db.prepare(
    `INSERT INTO latency_models (hardware_profile, runtime, threads, backend, model, data_stamp, fitted_at)
     VALUES (@hardwareProfile, @runtime, @threads, @backend, @model, @dataStamp, @fittedAt)
     ON CONFLICT (hardware_profile, runtime, threads, backend) DO UPDATE SET
       model = excluded.model, data_stamp = excluded.data_stamp, fitted_at = excluded.fitted_at`,
  )
  return {
    get: (s: LutScope): StoredLatencyModel | undefined => {
      const r = get.get(s.hardwareProfile, s.runtime, s.threads, s.backend)
      return r && { model: JSON.parse(r.model) as LatencyModel, dataStamp: r.dataStamp, fittedAt: r.fittedAt }
    },
    put: (s: LutScope, m: StoredLatencyModel) => put.run({ ...s, model: JSON.stringify(m.model), dataStamp: m.dataStamp, fittedAt: m.fittedAt }),
  }
}
export type LatencyModelQueries = ReturnType<typeof latencyModelQueries>
