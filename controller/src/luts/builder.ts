/**
 * Keeps the materialised LUTs current: after a results batch is stored (same transaction), every
 * block key it touched is re-aggregated for its (hardware profile, runtime, threads, backend).
 */
import type { Measurement } from '@fleetnas/shared'
import type { LutQueries, LutScope } from '../store/luts.ts'
import { aggregateDevices } from './aggregate.ts'

export function refreshLutRows(luts: LutQueries, hardwareProfile: string | null, measurements: readonly Measurement[], now: string): number {
  if (hardwareProfile === null) return 0 // a device that never sent its info belongs to no LUT yet
  const touched = new Map<string, { scope: LutScope; key: string }>()
  for (const m of measurements) {
    if (m.kind !== 'block') continue
    const scope = { hardwareProfile, runtime: m.runtime, threads: m.threads, backend: m.backend }
    touched.set(JSON.stringify([scope, m.key]), { scope, key: m.key })
  }
  for (const { scope, key } of touched.values()) {
    const rows = luts.latestPerDevice(scope, key)
    if (rows.length > 0) luts.upsert(scope, key, aggregateDevices(rows), now)
  }
  return touched.size
}
