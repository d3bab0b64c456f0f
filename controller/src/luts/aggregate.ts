/**
 * How one LUT row is made from the devices of a hardware class: each device contributes its latest
 * measurement of the block; the row is the median of the device medians (robust to one odd device),
 * with p10/p90 and CV likewise the median across devices, samples summed, and the spread (max - min
 * of the device medians) showing how much the class disagrees.
 */
export interface DeviceMeasurement {
  deviceId: string
  medianMs: number
  p10Ms: number
  p90Ms: number
  cv: number
  samples: number
  noisy: boolean
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
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing')
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export function aggregateDevices(rows: readonly DeviceMeasurement[]): LutStats {
  const medians = rows.map((r) => r.medianMs)
  return {
    medianMs: median(medians),
    p10Ms: median(rows.map((r) => r.p10Ms)),
    p90Ms: median(rows.map((r) => r.p90Ms)),
    cv: median(rows.map((r) => r.cv)),
    samples: rows.reduce((s, r) => s + r.samples, 0),
    devices: new Set(rows.map((r) => r.deviceId)).size,
    spreadMs: Math.max(...medians) - Math.min(...medians),
    // A row is noisy when most of its devices could not measure it steadily.
    noisy: rows.filter((r) => r.noisy).length * 2 > rows.length,
  }
}
