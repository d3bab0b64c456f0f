/** The materialised LUTs: one row per (hardware profile, runtime, threads, backend, block key). */
import type Database from 'better-sqlite3'
import type { DeviceMeasurement, LutStats } from '../luts/aggregate.ts'

export interface LutScope {
  hardwareProfile: string
  runtime: string
  threads: number
  backend: string
}

export interface LutEntryRow extends LutStats {
  key: string
  backend: string
  updatedAt: string
}

export interface LutSummary {
  hardwareProfile: string
  runtime: string
  threads: number
  backends: string[]
  entries: number
  devices: number
  updatedAt: string
}

export function lutQueries(db: Database.Database) {
  const latestPerDevice = db.prepare<[string, string, number, string, string], Omit<DeviceMeasurement, 'noisy'> & { noisy: number }>(
    `SELECT deviceId, medianMs, p10Ms, p90Ms, cv, samples, noisy FROM (
       SELECT device_id AS deviceId, median_ms AS medianMs, p10_ms AS p10Ms, p90_ms AS p90Ms, cv, samples, noisy,
              row_number() OVER (PARTITION BY device_id ORDER BY measured_at DESC, id DESC) AS rn
       FROM measurements
       WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND backend = ? AND kind = 'block' AND key = ?)
     WHERE rn = 1`,
  )
  const upsert = db.prepare(
    `INSERT INTO lut_entries (hardware_profile, runtime, threads, backend, key, median_ms, p10_ms, p90_ms, cv, samples, devices, spread_ms, noisy, updated_at)
     VALUES (@hardwareProfile, @runtime, @threads, @backend, @key, @medianMs, @p10Ms, @p90Ms, @cv, @samples, @devices, @spreadMs, @noisy, @updatedAt)
     ON CONFLICT (hardware_profile, runtime, threads, backend, key) DO UPDATE SET
       median_ms = excluded.median_ms, p10_ms = excluded.p10_ms, p90_ms = excluded.p90_ms, cv = excluded.cv, samples = excluded.samples,
       devices = excluded.devices, spread_ms = excluded.spread_ms, noisy = excluded.noisy, updated_at = excluded.updated_at`,
  )
  const summaries = db.prepare<[], Omit<LutSummary, 'backends' | 'devices'> & { backends: string }>(
    `SELECT hardware_profile AS hardwareProfile, runtime, threads, group_concat(DISTINCT backend) AS backends,
            count(DISTINCT key) AS entries, max(updated_at) AS updatedAt
     FROM lut_entries GROUP BY hardware_profile, runtime, threads ORDER BY hardware_profile, runtime, threads`,
  )
  const devicesOf = db.prepare<[], { hardwareProfile: string; runtime: string; threads: number; devices: number }>(
    `SELECT hardware_profile AS hardwareProfile, runtime, threads, count(DISTINCT device_id) AS devices
     FROM measurements WHERE kind = 'block' AND hardware_profile IS NOT NULL GROUP BY hardware_profile, runtime, threads`,
  )
  const entries = db.prepare<[string, string, number], Omit<LutEntryRow, 'noisy'> & { noisy: number }>(
    `SELECT key, backend, median_ms AS medianMs, p10_ms AS p10Ms, p90_ms AS p90Ms, cv, samples, devices, spread_ms AS spreadMs, noisy,
            updated_at AS updatedAt
     FROM lut_entries WHERE hardware_profile = ? AND runtime = ? AND threads = ? ORDER BY key, backend`,
  )

  return {
    latestPerDevice: (s: LutScope, key: string): DeviceMeasurement[] =>
      latestPerDevice.all(s.hardwareProfile, s.runtime, s.threads, s.backend, key).map((r) => ({ ...r, noisy: r.noisy === 1 })),
    upsert: (s: LutScope, key: string, stats: LutStats, now: string) =>
      upsert.run({ ...s, key, ...stats, noisy: stats.noisy ? 1 : 0, updatedAt: now }),
    summaries: (): LutSummary[] => {
      const devices = new Map(devicesOf.all().map((d) => [`${d.hardwareProfile}\0${d.runtime}\0${d.threads}`, d.devices]))
      return summaries.all().map((r) => ({
        ...r,
        backends: r.backends.split(','),
        devices: devices.get(`${r.hardwareProfile}\0${r.runtime}\0${r.threads}`) ?? 0,
      }))
    },
    entries: (hardwareProfile: string, runtime: string, threads: number): LutEntryRow[] =>
      entries.all(hardwareProfile, runtime, threads).map((r) => ({ ...r, noisy: r.noisy === 1 })),
  }
}
export type LutQueries = ReturnType<typeof lutQueries>
