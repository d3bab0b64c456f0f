/**
 * What a fit or a prediction reads of one LUT (its block rows, the call overhead, its architectures
 * measured whole), built from the LUT's rows, and the calibration points those make. Pure: the
 * service builds it from the store, the benchmark from the API's LUT view.
 */
import { emptyKey, parseArchitectureId, type SearchSpace } from '@fleetnas/shared'
import { architectureFeatures, type LutRow } from './features.ts'
import type { CalibrationPoint } from './fit.ts'

/** The fields of a LUT row (store row or API entry) the latency model reads. */
export interface LutEntryLike {
  key: string
  medianMs: number
  overheadMs: number | null
  ciLowMs: number | null
  ciHighMs: number | null
  belowOverhead: boolean
}

export interface LutData {
  blocks: Map<string, LutRow>
  /** End-to-end latency of each architecture measured whole (net median plus its overhead). */
  architectures: Map<string, number>
  callOverheadMs: number
}

const toRow = (r: LutEntryLike): LutRow => ({
  medianMs: r.medianMs,
  overheadMs: r.overheadMs,
  ciLowMs: r.ciLowMs,
  ciHighMs: r.ciHighMs,
  belowOverhead: r.belowOverhead,
})

export function lutData(
  rows: { blocks: readonly LutEntryLike[]; empties: readonly LutEntryLike[]; architectures: readonly LutEntryLike[] },
  space: Pick<SearchSpace, 'input'>,
): LutData {
  // One call's overhead on the space's input; failing that the architectures' own, or the smallest
  // measured shape's (it barely depends on small shapes).
  const own = rows.empties.find((e) => e.key === emptyKey(space.input))
  const archOverheads = rows.architectures.flatMap((r) => (r.overheadMs === null ? [] : [r.overheadMs])).sort((a, b) => a - b)
  const smallest = [...rows.empties].sort((a, b) => a.medianMs - b.medianMs)[0]
  const callOverheadMs = own?.medianMs ?? archOverheads[archOverheads.length >> 1] ?? smallest?.medianMs ?? 0
  return {
    blocks: new Map(rows.blocks.map((r) => [r.key, toRow(r)])),
    architectures: new Map(rows.architectures.map((r) => [r.key, r.medianMs + (r.overheadMs ?? callOverheadMs)])),
    callOverheadMs,
  }
}

/** Calibration points: the LUT's architectures measured whole whose blocks it all has (minus `exclude`). */
export function calibrationPoints(data: LutData, space: SearchSpace, exclude: ReadonlySet<string> = new Set()): CalibrationPoint[] {
  const points: CalibrationPoint[] = []
  for (const [id, measuredMs] of data.architectures) {
    if (exclude.has(id)) continue
    let arch
    try {
      arch = parseArchitectureId(id, space)
    } catch {
      continue // measured by another version of the space
    }
    const f = architectureFeatures(arch, (k) => data.blocks.get(k), space)
    if (f.missing.length === 0) points.push({ id, measuredMs, features: f.values })
  }
  return points
}
