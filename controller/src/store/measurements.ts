/**
 * Result batches (idempotency by (jobId, seq)), the measurements they carry, and per-execution stored
 * blocks. A block or architecture target is stored at most once per execution, whichever attempt's
 * result arrives first: a timed-out attempt's late results must not add a second row next to its
 * retry's (the unique index of migration 2 enforces it). Empty-graph and reference measurements
 * repeat within a job by design and are all kept.
 */
import type Database from 'better-sqlite3'
import type { Measurement } from '@fleetnas/shared'

/**
 * What a device's sensors read around its latest measurement that carried a reading: the later
 * reading wins, throttled if the device was throttled before or after.
 */
export interface DeviceEnvironment {
  measuredAt: string
  temperatureC?: number
  frequencyMHz?: number
  throttled?: boolean
}

type Reading = { temperatureC?: number; frequencyMHz?: number; throttled?: boolean }

function environmentOf(json: string, measuredAt: string): DeviceEnvironment {
  const { before = {}, after = {} } = JSON.parse(json) as { before?: Reading; after?: Reading }
  const out: DeviceEnvironment = { measuredAt }
  const temperatureC = after.temperatureC ?? before.temperatureC
  const frequencyMHz = after.frequencyMHz ?? before.frequencyMHz
  if (temperatureC !== undefined) out.temperatureC = temperatureC
  if (frequencyMHz !== undefined) out.frequencyMHz = frequencyMHz
  if (before.throttled !== undefined || after.throttled !== undefined) out.throttled = before.throttled === true || after.throttled === true
  return out
}

export interface BatchOwner {
  jobId: string
  seq: number
  deviceId: string
  executionId: string
  campaignId: string
  hardwareProfile: string | null
}

/** What storing one batch did. */
export interface BatchOutcome {
  /** (jobId, seq) was new. A repeated batch changes nothing, but is acked like a new one. */
  fresh: boolean
  /** The measurements stored (for the LUT refresh). */
  stored: Measurement[]
  /** Targets the execution already had from an earlier result (not stored). */
  duplicates: number
}

/** Keys per execution_blocks insert: far below SQLite's 32,766 parameters. */
const MAX_KEYS = 500

/** A statement for n keys, prepared on first use of that n and kept. */
function statementsByCount(db: Database.Database, sql: (n: number) => string): (n: number) => Database.Statement {
  const prepared = new Map<number, Database.Statement>()
  return (n) => {
    let s = prepared.get(n)
    if (!s) prepared.set(n, (s = db.prepare(sql(n))))
    return s
  }
}

export function measurementQueries(db: Database.Database) {
  const insertBatch = db.prepare(
    `INSERT INTO result_batches (job_id, seq, device_id, execution_id, count, received_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (job_id, seq) DO NOTHING`,
  )
  // Positional parameters: better-sqlite3 binds a named one by a property lookup each, which made
  // this insert six times slower (36 µs of CPU a row against 6) on the per-batch path.
  const insertMeasurement = db.prepare(
    `INSERT INTO measurements (job_id, seq, execution_id, campaign_id, device_id, hardware_profile, kind, key, runtime, backend, threads,
       median_ms, p10_ms, p90_ms, mean_ms, std_ms, cv, samples, rounds, noisy, overhead_ms, environment, measured_at, ci_low_ms, ci_high_ms, below_overhead)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  )
  // The execution's stored targets: those of the stored measurements that are campaign keys.
  const markBlocks = statementsByCount(
    db,
    (n) => `INSERT INTO execution_blocks (execution_id, key)
     SELECT ?, key FROM campaign_keys WHERE campaign_id = ? AND key IN (${Array(n).fill('?').join(', ')})
     ON CONFLICT DO NOTHING`,
  )
  // executions.done counts execution_blocks (migration 10); this is the only place that adds to either.
  const addDone = db.prepare(`UPDATE executions SET done = done + ? WHERE id = ?`)
  const countMeasurements = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM measurements`)
  const countBatches = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM result_batches`)
  const maxSeq = db.prepare<[string], { seq: number | null }>(`SELECT max(seq) AS seq FROM result_batches WHERE job_id = ?`)
  // Both walk the partial index measurements_device_environment (migration 5) from the newest row.
  const latestEnvironment = db.prepare<[string], { environment: string; measuredAt: string }>(
    `SELECT environment, measured_at AS measuredAt FROM measurements WHERE device_id = ? AND environment IS NOT NULL ORDER BY id DESC LIMIT 1`,
  )
  const latestEnvironments = db.prepare<[], { deviceId: string; environment: string; measuredAt: string }>(
    `SELECT m.device_id AS deviceId, m.environment, m.measured_at AS measuredAt FROM devices d
     JOIN measurements m ON m.id = (SELECT id FROM measurements WHERE device_id = d.id AND environment IS NOT NULL ORDER BY id DESC LIMIT 1)`,
  )

  return {
    /**
     * Stores a batch unless (jobId, seq) is already stored, without the block and architecture
     * targets its execution already has. Call inside a transaction with the LUT refresh.
     */
    insertBatch: (owner: BatchOwner, measurements: Measurement[], now: string): BatchOutcome => {
      const fresh = insertBatch.run(owner.jobId, owner.seq, owner.deviceId, owner.executionId, measurements.length, now).changes > 0
      const outcome: BatchOutcome = { fresh, stored: [], duplicates: 0 }
      if (!fresh) return outcome
      const targets: string[] = []
      for (const m of measurements) {
        const inserted =
          insertMeasurement.run(
            owner.jobId,
            owner.seq,
            owner.executionId,
            owner.campaignId,
            owner.deviceId,
            owner.hardwareProfile,
            m.kind,
            m.key,
            m.runtime,
            m.backend,
            m.threads,
            m.medianMs,
            m.p10Ms,
            m.p90Ms,
            m.meanMs,
            m.stdMs,
            m.cv,
            m.samples,
            m.rounds,
            m.noisy ? 1 : 0,
            m.overheadMs ?? null,
            m.before || m.after ? JSON.stringify({ before: m.before, after: m.after }) : null,
            m.time,
            m.ciLowMs ?? null,
            m.ciHighMs ?? null,
            m.belowOverhead ? 1 : 0,
          ).changes > 0
        // The only unique constraint a row can hit: the execution already has this target.
        if (!inserted) {
          outcome.duplicates++
          continue
        }
        outcome.stored.push(m)
        if (m.kind === 'block' || m.kind === 'architecture') targets.push(m.key)
      }
      // One statement for the batch's targets (one per target was ~2 µs of CPU each).
      let marked = 0
      for (let from = 0; from < targets.length; from += MAX_KEYS) {
        const keys = targets.slice(from, from + MAX_KEYS)
        marked += markBlocks(keys.length).run(owner.executionId, owner.campaignId, keys).changes
      }
      if (marked > 0) addDone.run(marked, owner.executionId)
      return outcome
    },
    count: () => countMeasurements.get()!.n,
    countBatches: () => countBatches.get()!.n,
    /** Highest stored seq of a job, or null when none is stored. */
    maxSeq: (jobId: string): number | null => maxSeq.get(jobId)?.seq ?? null,
    /** The environment of a device's latest measurement that carried one; null when none did. */
    latestEnvironment: (deviceId: string): DeviceEnvironment | null => {
      const r = latestEnvironment.get(deviceId)
      return r ? environmentOf(r.environment, r.measuredAt) : null
    },
    /** The same for every known device at once (devices without a reading are absent). */
    latestEnvironments: (): Map<string, DeviceEnvironment> =>
      new Map(latestEnvironments.all().map((r) => [r.deviceId, environmentOf(r.environment, r.measuredAt)])),
  }
}
export type MeasurementQueries = ReturnType<typeof measurementQueries>
