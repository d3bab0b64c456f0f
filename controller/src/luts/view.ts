/** LUT rows as the API shows them (with the block spec recovered from the key) and as CSV. */
import { parseBlockKey, type BlockSpec } from '@fleetnas/shared'
import type { LutEntryRow } from '../store/luts.ts'

/** A stored LUT row plus the block spec recovered from its key. */
export interface LutEntryView extends LutEntryRow {
  block: BlockSpec | null
}

function blockOf(key: string): BlockSpec | null {
  try {
    return parseBlockKey(key)
  } catch {
    return null // a key this version cannot parse stays in the LUT, without its spec
  }
}

export function entryView(r: LutEntryRow): LutEntryView {
  return { ...r, block: blockOf(r.key) }
}

export const CSV_COLUMNS = [
  'key',
  'backend',
  'median_ms',
  'ci_low_ms',
  'ci_high_ms',
  'p10_ms',
  'p90_ms',
  'cv',
  'samples',
  'devices',
  'spread_ms',
  'overhead_ms',
  'noisy',
  'below_overhead',
  'updated_at',
] as const

const cell = (v: string | number | boolean | null) => {
  if (v === null) return ''
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function lutCsv(rows: readonly LutEntryRow[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const r of rows)
    lines.push(
      [r.key, r.backend, r.medianMs, r.ciLowMs, r.ciHighMs, r.p10Ms, r.p90Ms, r.cv, r.samples, r.devices, r.spreadMs, r.overheadMs, r.noisy, r.belowOverhead, r.updatedAt]
        .map(cell)
        .join(','),
    )
  return lines.join('\n') + '\n'
}
