/**
 * Keeps the materialised LUTs current. A results batch marks the keys it touched (`markTouchedLutKeys`,
 * in its own transaction); a fold (`foldPendingLutRows`, before any LUT read and periodically)
 * re-aggregates each marked key once for its (hardware profile, runtime, threads, backend): blocks and
 * architectures from each device's latest measurement, empty graphs (the call overhead of an input
 * shape) from the median of each device's recent readings, since they repeat in every window.
 * Re-aggregating reads one row per device of the class, so it is done once per key per fold, not
 * once per batch: with a thousand devices measuring the same blocks, per batch was quadratic.
 */
import type { Measurement } from '@fleetnas/shared'
import type { LutKind, LutQueries, LutScope, PendingLutKey } from '../store/luts.ts'
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

/** One string per LUT row (scope, kind, key), for de-duplicating marks: fields joined by NUL, which no field holds. */
export const lutKeyId = ({ scope, kind, key }: PendingLutKey): string =>
  `${scope.hardwareProfile}\0${scope.runtime}\0${scope.threads}\0${scope.backend}\0${kind}\0${key}`

/** The LUT rows a batch's measurements touch (none for a device that never sent its info: it belongs to no LUT yet). */
export function touchedLutKeys(hardwareProfile: string | null, measurements: readonly Measurement[]): PendingLutKey[] {
  if (hardwareProfile === null) return []
  const touched = new Map<string, PendingLutKey>()
  for (const m of measurements) {
    if (m.kind === 'reference') continue
    const k: PendingLutKey = { scope: { hardwareProfile, runtime: m.runtime, threads: m.threads, backend: m.backend }, kind: m.kind, key: m.key }
    touched.set(lutKeyId(k), k)
  }
  return [...touched.values()]
}

/** Re-aggregates one LUT row from the stored measurements. */
export function refreshLutRow(luts: LutQueries, { scope, kind, key }: PendingLutKey, now: string): void {
  const rows =
    kind === 'empty' ? groupByDevice(luts.recentEmptiesPerDevice(scope, key)).map(deviceOverhead) : luts.latestPerDevice(scope, kind as 'block' | 'architecture', key)
  if (rows.length > 0) luts.upsert(scope, kind, key, aggregateDevices(rows), now)
}

/** Re-aggregates every marked row and clears the marks. Call inside one (immediate) transaction. */
export function foldPendingLutRows(luts: LutQueries, now: string): number {
  const pending = luts.pending()
  for (const p of pending) refreshLutRow(luts, p, now)
  luts.clearPending()
  return pending.length
}
