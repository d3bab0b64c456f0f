/**
 * Pure statistics over stored block measurements: the noise figures of one campaign and the
 * repeatability of block medians between two campaigns. No I/O, so they are unit-tested alone.
 */
import { median, quantile } from '@fleetnas/shared'

export interface BlockRow {
  key: string
  medianMs: number
  /** Empty-session overhead that was subtracted from medianMs (0 when none). */
  overheadMs: number
  cv: number
  noisy: boolean
}

export interface NoiseFigures {
  blocks: number
  medianCv: number
  p90Cv: number
  /** Share (0..1) of blocks whose cv is above `cvLimit`. */
  shareOverLimit: number
  noisyFlags: number
}

/** Noise of the blocks whose gross time (median + overhead) falls in [fromMs, toMs). */
export interface SizeBand {
  fromMs: number
  toMs: number
  blocks: number
  medianCv: number
  shareOverLimit: number
}

/** Gross-time bands: most of the default space's blocks take a few microseconds, where call jitter rules. */
export const SIZE_BANDS_MS = [0, 0.02, 0.1, 1, Infinity] as const

export interface RepeatabilityFigures {
  /** Blocks present in both campaigns. */
  common: number
  /** Median of |a - b| / ((a + b) / 2) over block medians as stored (overhead subtracted). */
  medianRelDiff: number
  p90RelDiff: number
  /** The same on gross times (median + overhead): what the session really took. */
  medianRelDiffGross: number
  /** Share (0..1) of blocks whose medians differ by more than 10%. */
  shareOver10: number
}

export { median, quantile }

export function noiseBySize(rows: readonly BlockRow[], cvLimit = 0.05, bands: readonly number[] = SIZE_BANDS_MS): SizeBand[] {
  const out: SizeBand[] = []
  for (let i = 0; i + 1 < bands.length; i++) {
    const inBand = rows.filter((r) => r.medianMs + r.overheadMs >= bands[i] && r.medianMs + r.overheadMs < bands[i + 1])
    const f = noiseFigures(inBand, cvLimit)
    out.push({ fromMs: bands[i], toMs: bands[i + 1], blocks: f.blocks, medianCv: f.medianCv, shareOverLimit: f.shareOverLimit })
  }
  return out
}

export function noiseFigures(rows: readonly BlockRow[], cvLimit = 0.05): NoiseFigures {
  const cvs = rows.map((r) => r.cv)
  return {
    blocks: rows.length,
    medianCv: median(cvs),
    p90Cv: quantile(cvs, 0.9),
    shareOverLimit: rows.length ? cvs.filter((c) => c > cvLimit).length / rows.length : NaN,
    noisyFlags: rows.filter((r) => r.noisy).length,
  }
}

/** Symmetric relative difference; two zeros (a fully overhead-sized block twice) agree exactly. */
export function relDiff(a: number, b: number): number {
  const mean = (a + b) / 2
  return mean > 0 ? Math.abs(a - b) / mean : 0
}

export function repeatability(first: readonly BlockRow[], second: readonly BlockRow[]): RepeatabilityFigures {
  const byKey = new Map(first.map((r) => [r.key, r]))
  const net: number[] = []
  const gross: number[] = []
  for (const b of second) {
    const a = byKey.get(b.key)
    if (!a) continue
    net.push(relDiff(a.medianMs, b.medianMs))
    gross.push(relDiff(a.medianMs + a.overheadMs, b.medianMs + b.overheadMs))
  }
  return {
    common: net.length,
    medianRelDiff: median(net),
    p90RelDiff: quantile(net, 0.9),
    medianRelDiffGross: median(gross),
    shareOver10: net.length ? net.filter((d) => d > 0.1).length / net.length : NaN,
  }
}
