/**
 * Reads one campaign's stored measurements from the controller's SQLite file, opened read-only
 * (the HTTP API has no per-campaign results; the LUT keeps only each device's latest row).
 * Schema: controller/src/store/migrations.ts, table `measurements`.
 */
import Database from 'better-sqlite3'
import type { BlockRow } from './figures.ts'

export interface ReferenceRow {
  /** Gross median: the stored median plus the subtracted empty-session overhead. */
  medianMs: number
  cv: number
  measuredAt: string
}

export interface CampaignMeasurements {
  blocks: BlockRow[]
  /** The drift reference block, in measuring order. */
  references: ReferenceRow[]
  /** Sum over blocks of samples x gross median (ms): the time spent in timed runs. */
  timedMs: number
}

export function readCampaignMeasurements(dbFile: string, campaignId: string): CampaignMeasurements {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true })
  try {
    // An execution stores a block once; the last row per key also covers databases from before that rule.
    const blocks = db
      .prepare<[string], { key: string; medianMs: number; overheadMs: number; cv: number; noisy: number; samples: number }>(
        `SELECT m.key, m.median_ms AS medianMs, coalesce(m.overhead_ms, 0) AS overheadMs, m.cv, m.noisy, m.samples
           FROM measurements m
           JOIN (SELECT max(id) AS id FROM measurements WHERE campaign_id = ? AND kind = 'block' GROUP BY key) last ON last.id = m.id`,
      )
      .all(campaignId)
    const references = db
      .prepare<[string], ReferenceRow>(
        `SELECT median_ms + coalesce(overhead_ms, 0) AS medianMs, cv, measured_at AS measuredAt FROM measurements
          WHERE campaign_id = ? AND kind = 'reference' ORDER BY id`,
      )
      .all(campaignId)
    return {
      blocks: blocks.map((b) => ({ key: b.key, medianMs: b.medianMs, overheadMs: b.overheadMs, cv: b.cv, noisy: b.noisy !== 0 })),
      references,
      timedMs: blocks.reduce((s, b) => s + b.samples * (b.medianMs + b.overheadMs), 0),
    }
  } finally {
    db.close()
  }
}

/** End-to-end (gross) median of each architecture a campaign measured whole: net median plus its overhead. */
export function readArchitectureLatencies(dbFile: string, campaignId: string): Map<string, number> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true })
  try {
    const rows = db
      .prepare<[string], { key: string; ms: number }>(
        `SELECT key, median_ms + coalesce(overhead_ms, 0) AS ms FROM measurements WHERE campaign_id = ? AND kind = 'architecture' ORDER BY id`,
      )
      .all(campaignId)
    return new Map(rows.map((r) => [r.key, r.ms]))
  } finally {
    db.close()
  }
}
