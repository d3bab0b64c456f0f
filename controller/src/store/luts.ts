/**
 * The materialised LUTs: one row per (hardware profile, runtime, threads, backend, key), where a key
 * is a block key (kind 'block', what the LUT is for), the empty graph of an input shape (kind
 * 'empty': one call's overhead) or an architecture id measured whole (kind 'architecture': what the
 * latency model is fitted on).
 */
import type Database from 'better-sqlite3'
import type { DeviceMeasurement, LutStats } from '../luts/aggregate.ts'

export const LUT_KINDS = ['block', 'architecture', 'empty'] as const
export type LutKind = (typeof LUT_KINDS)[number]

export interface LutScope {
  hardwareProfile: string
  runtime: string
  threads: number
  backend: string
}

export interface LutEntryRow extends LutStats {
  key: string
  kind: LutKind
  backend: string
  updatedAt: string
}

export interface LutSummary {
  hardwareProfile: string
  runtime: string
  threads: number
  backends: string[]
  entries: number
  /** Architectures measured whole (the latency model's calibration data). */
  architectures: number
  devices: number
  updatedAt: string
}

/** Empty-graph readings per device that make its overhead figure (they repeat in every window). */
const EMPTY_READINGS = 25

type RawDevice = Omit<DeviceMeasurement, 'noisy' | 'belowOverhead'> & { noisy: number; belowOverhead: number }
type RawEntry = Omit<LutEntryRow, 'noisy' | 'belowOverhead'> & { noisy: number; belowOverhead: number }

const DEVICE_COLUMNS = `device_id AS deviceId, median_ms AS medianMs, p10_ms AS p10Ms, p90_ms AS p90Ms, cv, samples, noisy,
  ci_low_ms AS ciLowMs, ci_high_ms AS ciHighMs, overhead_ms AS overheadMs, below_overhead AS belowOverhead`
const ENTRY_COLUMNS = `key, kind, backend, median_ms AS medianMs, p10_ms AS p10Ms, p90_ms AS p90Ms, cv, samples, devices, spread_ms AS spreadMs,
  noisy, ci_low_ms AS ciLowMs, ci_high_ms AS ciHighMs, overhead_ms AS overheadMs, below_overhead AS belowOverhead, updated_at AS updatedAt`

const fromRawDevice = (r: RawDevice): DeviceMeasurement => ({ ...r, noisy: r.noisy === 1, belowOverhead: r.belowOverhead === 1 })
const fromRawEntry = (r: RawEntry): LutEntryRow => ({ ...r, noisy: r.noisy === 1, belowOverhead: r.belowOverhead === 1 })

/** A LUT row a results batch touched: re-aggregated at the next fold (lut_pending, migration 7). */
export interface PendingLutKey {
  scope: LutScope
  kind: LutKind
  key: string
}

export interface LutQueryOptions {
  /** Runs before every read of LUT rows: folds the pending keys in, so readers never see a stale row. */
  beforeRead?: () => void
}

export function lutQueries(db: Database.Database, opts: LutQueryOptions = {}) {
  const beforeRead = opts.beforeRead ?? (() => {})
  const markPending = db.prepare(
    `INSERT INTO lut_pending (hardware_profile, runtime, threads, backend, kind, key) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  )
  const pendingAll = db.prepare<[], LutScope & { kind: LutKind; key: string }>(
    `SELECT hardware_profile AS hardwareProfile, runtime, threads, backend, kind, key FROM lut_pending`,
  )
  const anyPending = db.prepare<[], { one: number }>(`SELECT 1 AS one FROM lut_pending LIMIT 1`)
  const clearPending = db.prepare(`DELETE FROM lut_pending`)
  const latestPerDevice = db.prepare<[string, string, number, string, string, string], RawDevice>(
    `SELECT ${DEVICE_COLUMNS} FROM (
       SELECT *, row_number() OVER (PARTITION BY device_id ORDER BY measured_at DESC, id DESC) AS rn
       FROM measurements
       WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND backend = ? AND kind = ? AND key = ?)
     WHERE rn = 1`,
  )
  const recentPerDevice = db.prepare<[string, string, number, string, string, number], RawDevice>(
    `SELECT ${DEVICE_COLUMNS} FROM (
       SELECT *, row_number() OVER (PARTITION BY device_id ORDER BY measured_at DESC, id DESC) AS rn
       FROM measurements
       WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND backend = ? AND kind = 'empty' AND key = ?)
     WHERE rn <= ? ORDER BY deviceId`,
  )
  const upsert = db.prepare(
    `INSERT INTO lut_entries (hardware_profile, runtime, threads, backend, key, kind, median_ms, p10_ms, p90_ms, cv, samples, devices, spread_ms,
       noisy, ci_low_ms, ci_high_ms, overhead_ms, below_overhead, updated_at)
     VALUES (@hardwareProfile, @runtime, @threads, @backend, @key, @kind, @medianMs, @p10Ms, @p90Ms, @cv, @samples, @devices, @spreadMs,
       @noisy, @ciLowMs, @ciHighMs, @overheadMs, @belowOverhead, @updatedAt)
     ON CONFLICT (hardware_profile, runtime, threads, backend, key) DO UPDATE SET
       kind = excluded.kind, median_ms = excluded.median_ms, p10_ms = excluded.p10_ms, p90_ms = excluded.p90_ms, cv = excluded.cv,
       samples = excluded.samples, devices = excluded.devices, spread_ms = excluded.spread_ms, noisy = excluded.noisy,
       ci_low_ms = excluded.ci_low_ms, ci_high_ms = excluded.ci_high_ms, overhead_ms = excluded.overhead_ms,
       below_overhead = excluded.below_overhead, updated_at = excluded.updated_at`,
  )
  const summaries = db.prepare<[], Omit<LutSummary, 'backends' | 'devices'> & { backends: string }>(
    `SELECT hardware_profile AS hardwareProfile, runtime, threads, group_concat(DISTINCT backend) AS backends,
            count(DISTINCT CASE WHEN kind = 'block' THEN key END) AS entries,
            count(DISTINCT CASE WHEN kind = 'architecture' THEN key END) AS architectures, max(updated_at) AS updatedAt
     FROM lut_entries GROUP BY hardware_profile, runtime, threads
     HAVING count(CASE WHEN kind <> 'empty' THEN 1 END) > 0
     ORDER BY hardware_profile, runtime, threads`,
  )
  const devicesOf = db.prepare<[], { hardwareProfile: string; runtime: string; threads: number; devices: number }>(
    `SELECT hardware_profile AS hardwareProfile, runtime, threads, count(DISTINCT device_id) AS devices
     FROM measurements WHERE kind IN ('block', 'architecture') AND hardware_profile IS NOT NULL GROUP BY hardware_profile, runtime, threads`,
  )
  const entries = db.prepare<[string, string, number, string], RawEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM lut_entries WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND kind = ? ORDER BY key, backend`,
  )
  const stamp = db.prepare<[string, string, number, string], { n: number; last: string | null; sum: number }>(
    `SELECT count(*) AS n, max(updated_at) AS last, total(median_ms) AS sum FROM lut_entries WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND backend = ?`,
  )
  const backendsOf = db.prepare<[string, string, number], { backend: string }>(
    `SELECT backend FROM lut_entries WHERE hardware_profile = ? AND runtime = ? AND threads = ? AND kind = 'block'
     GROUP BY backend ORDER BY count(*) DESC, backend`,
  )

  return {
    /** Marks a row for re-aggregation; call in the transaction that stores its measurements. */
    markPending: (p: PendingLutKey) => void markPending.run(p.scope.hardwareProfile, p.scope.runtime, p.scope.threads, p.scope.backend, p.kind, p.key),
    hasPending: (): boolean => anyPending.get() !== undefined,
    /** Every marked row; clear them in the same transaction that re-aggregates them. */
    pending: (): PendingLutKey[] =>
      pendingAll.all().map(({ kind, key, ...scope }) => ({ scope, kind, key })),
    clearPending: () => void clearPending.run(),
    latestPerDevice: (s: LutScope, kind: 'block' | 'architecture', key: string): DeviceMeasurement[] =>
      latestPerDevice.all(s.hardwareProfile, s.runtime, s.threads, s.backend, kind, key).map(fromRawDevice),
    /** The latest empty-graph readings of each device, for its overhead figure. */
    recentEmptiesPerDevice: (s: LutScope, key: string): DeviceMeasurement[] =>
      recentPerDevice.all(s.hardwareProfile, s.runtime, s.threads, s.backend, key, EMPTY_READINGS).map(fromRawDevice),
    upsert: (s: LutScope, kind: LutKind, key: string, stats: LutStats, now: string) =>
      upsert.run({ ...s, kind, key, ...stats, noisy: stats.noisy ? 1 : 0, belowOverhead: stats.belowOverhead ? 1 : 0, updatedAt: now }),
    summaries: (): LutSummary[] => {
      beforeRead()
      const devices = new Map(devicesOf.all().map((d) => [`${d.hardwareProfile}\0${d.runtime}\0${d.threads}`, d.devices]))
      return summaries.all().map((r) => ({
        ...r,
        backends: r.backends.split(','),
        devices: devices.get(`${r.hardwareProfile}\0${r.runtime}\0${r.threads}`) ?? 0,
      }))
    },
    entries: (hardwareProfile: string, runtime: string, threads: number, kind: LutKind = 'block'): LutEntryRow[] => {
      beforeRead()
      return entries.all(hardwareProfile, runtime, threads, kind).map(fromRawEntry)
    },
    /** Changes whenever a row of the scope changes: a fitted model older than this is stale. */
    dataStamp: (s: LutScope): string => {
      beforeRead()
      const r = stamp.get(s.hardwareProfile, s.runtime, s.threads, s.backend)!
      return `${r.n}@${r.last ?? ''}/${r.sum}`
    },
    /** Backends of a LUT, the one with most block rows first. */
    backends: (hardwareProfile: string, runtime: string, threads: number): string[] => {
      beforeRead()
      return backendsOf.all(hardwareProfile, runtime, threads).map((r) => r.backend)
    },
  }
}
export type LutQueries = ReturnType<typeof lutQueries>
