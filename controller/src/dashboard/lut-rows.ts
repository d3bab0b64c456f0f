/**
 * A LUT as the dashboard heatmap needs it: per block row the fields it draws and the block spec.
 * GET /v1/luts/:profile carries every field through a per-row response schema, which for the
 * default space (~16,000 rows, 6 MB) costs a few hundred ms of the controller's one thread; this
 * view is a plain JSON.stringify of what the page uses, and the specs are parsed once per key for
 * the life of the process (keys are a finite set), so a 16,000-row LUT answers in tens of ms.
 */
import { parseBlockKey, type BlockSpec } from '@fleetnas/shared'
import { LutNotFound } from '../errors.ts'
import type { Store } from '../store/db.ts'
import type { LutEntryRow } from '../store/luts.ts'

export type DashboardLutEntry = Pick<LutEntryRow, 'key' | 'medianMs' | 'p10Ms' | 'p90Ms' | 'cv' | 'ciLowMs' | 'ciHighMs' | 'samples' | 'devices' | 'noisy'> & {
  block: BlockSpec | null
}

export interface DashboardLut {
  hardwareProfile: string
  runtime: string
  threads: number
  entries: DashboardLutEntry[]
}

const MAX_CACHED = 100_000
const specs = new Map<string, BlockSpec | null>()

function specOf(key: string): BlockSpec | null {
  let spec = specs.get(key)
  if (spec === undefined) {
    try {
      spec = parseBlockKey(key)
    } catch {
      spec = null // a key this version cannot parse: kept, without its spec
    }
    if (specs.size < MAX_CACHED) specs.set(key, spec)
  }
  return spec
}

export function lutRowsJson(store: Store, hardwareProfile: string, runtime: string, threads: number): string {
  const rows = store.luts.entries(hardwareProfile, runtime, threads)
  if (rows.length === 0) throw LutNotFound(hardwareProfile, runtime, threads)
  const lut: DashboardLut = {
    hardwareProfile,
    runtime,
    threads,
    entries: rows.map((r) => ({
      key: r.key,
      block: specOf(r.key),
      medianMs: r.medianMs,
      p10Ms: r.p10Ms,
      p90Ms: r.p90Ms,
      cv: r.cv,
      ciLowMs: r.ciLowMs,
      ciHighMs: r.ciHighMs,
      samples: r.samples,
      devices: r.devices,
      noisy: r.noisy,
    })),
  }
  return JSON.stringify(lut)
}
