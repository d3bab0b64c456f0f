/**
 * How one LUT row is made from the devices of a hardware class: each device contributes its latest
 * measurement of the target; the row is the median of the device medians (robust to one odd device),
 * with p10/p90, CV, the overhead and the median's interval likewise the median across devices,
 * samples summed, and the spread (max - min of the device medians) showing how much the class
 * disagrees. A row whose median is at or below the call overhead is flagged, never shown as 0 ms.
 */
import { median as medianOf } from '@fleetnas/shared'

export interface DeviceMeasurement {
  deviceId: string
  medianMs: number
  p10Ms: number
  p90Ms: number
  cv: number
  samples: number
  noisy: boolean
  /** 95% interval of the device's median; absent from agents before protocol fields existed. */
  ciLowMs?: number | null
  ciHighMs?: number | null
  overheadMs?: number | null
  belowOverhead?: boolean
}

export interface LutStats {
  medianMs: number
  p10Ms: number
  p90Ms: number
  cv: number
  samples: number
  devices: number
  spreadMs: number
  noisy: boolean
  ciLowMs: number | null
  ciHighMs: number | null
  /** Median call overhead (the empty graph of the input shape) subtracted from the figures. */
  overheadMs: number | null
  /** The net median is at or below 0: faster than the call overhead resolves. */
  belowOverhead: boolean
}

/** The median of a row's figures; a row always has at least one device, so none is a bug. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing')
  return medianOf(values)
}

/** Median of the values every row has, or null when some row lacks it. */
function medianOfAll(values: readonly (number | null | undefined)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null || v === undefined)) return null
  return median(values as number[])
}

export function aggregateDevices(rows: readonly DeviceMeasurement[]): LutStats {
  const medians = rows.map((r) => r.medianMs)
  const medianMs = median(medians)
  return {
    medianMs,
    p10Ms: median(rows.map((r) => r.p10Ms)),
    p90Ms: median(rows.map((r) => r.p90Ms)),
    cv: median(rows.map((r) => r.cv)),
    samples: rows.reduce((s, r) => s + r.samples, 0),
    devices: new Set(rows.map((r) => r.deviceId)).size,
    spreadMs: Math.max(...medians) - Math.min(...medians),
    // A row is noisy when most of its devices could not measure it steadily.
    noisy: rows.filter((r) => r.noisy).length * 2 > rows.length,
    ciLowMs: medianOfAll(rows.map((r) => r.ciLowMs)),
    ciHighMs: medianOfAll(rows.map((r) => r.ciHighMs)),
    overheadMs: medianOfAll(rows.map((r) => r.overheadMs)),
    belowOverhead: medianMs <= 0 || rows.filter((r) => r.belowOverhead).length * 2 > rows.length,
  }
}
