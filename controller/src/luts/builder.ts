/**
 * Keeps the materialised LUTs current: after a results batch is stored (same transaction), every
 * key it touched is re-aggregated for its (hardware profile, runtime, threads, backend): blocks and
 * architectures from each device's latest measurement, empty graphs (the call overhead of an input
 * shape) from the median of each device's recent readings, since they repeat in every window.
 */
import type { Measurement } from '@fleetnas/shared'
import type { LutKind, LutQueries, LutScope } from '../store/luts.ts'
import { aggregateDevices, median, type DeviceMeasurement } from './aggregate.ts'

/** One device's overhead figure: the median of its recent empty-graph readings. */
function deviceOverhead(readings: readonly DeviceMeasurement[]): DeviceMeasurement {
  const m = (pick: (r: DeviceMeasurement) => number) => median(readings.map(pick))
  return {
    deviceId: readings[0].deviceId,
    medianMs: m((r) => r.medianMs),
    p10Ms: m((r) => r.p10Ms),
    p90Ms: m((r) => r.p90Ms),
    cv: m((r) => r.cv),
    samples: readings.reduce((s, r) => s + r.samples, 0),
    noisy: readings.filter((r) => r.noisy).length * 2 > readings.length,
    ciLowMs: readings.every((r) => r.ciLowMs != null) ? m((r) => r.ciLowMs!) : null,
    ciHighMs: readings.every((r) => r.ciHighMs != null) ? m((r) => r.ciHighMs!) : null,
  }
}

function groupByDevice(rows: readonly DeviceMeasurement[]): DeviceMeasurement[][] {
  const by = new Map<string, DeviceMeasurement[]>()
  for (const r of rows) {
    const g = by.get(r.deviceId)
    if (g) g.push(r)
    else by.set(r.deviceId, [r])
  }
  return [...by.values()]
}

export function refreshLutRows(luts: LutQueries, hardwareProfile: string | null, measurements: readonly Measurement[], now: string): number {
  if (hardwareProfile === null) return 0 // a device that never sent its info belongs to no LUT yet
  const touched = new Map<string, { scope: LutScope; kind: LutKind; key: string }>()
  for (const m of measurements) {
    if (m.kind === 'reference') continue
    const scope = { hardwareProfile, runtime: m.runtime, threads: m.threads, backend: m.backend }
    touched.set(JSON.stringify([scope, m.kind, m.key]), { scope, kind: m.kind, key: m.key })
  }
  for (const { scope, kind, key } of touched.values()) {
    const rows =
      kind === 'empty' ? groupByDevice(luts.recentEmptiesPerDevice(scope, key)).map(deviceOverhead) : luts.latestPerDevice(scope, kind, key)
    if (rows.length > 0) luts.upsert(scope, kind, key, aggregateDevices(rows), now)
  }
  return touched.size
}
