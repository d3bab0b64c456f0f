/** Agreement figures between predicted and measured latencies, as the fit report and the benchmark print them. */
import { quantile } from '@fleetnas/shared'

export interface Agreement {
  n: number
  /** Share of predictions within +-5% and +-10% of the measured latency. */
  within5: number
  within10: number
  /** Mean absolute percentage error (a fraction: 0.03 = 3%). */
  mape: number
  /** Median signed error (predicted / measured - 1): > 0 over-predicts. */
  medianError: number
  rmseMs: number
  /** Kendall's tau-b between predicted and measured (rank agreement, what a search relies on). */
  kendallTau: number
}

/** Tau-b (ties in either list counted as neither concordant nor discordant). O(n^2): fine for thousands. */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  let concordant = 0
  let discordant = 0
  let tiesA = 0
  let tiesB = 0
  for (let i = 0; i < a.length; i++)
    for (let j = i + 1; j < a.length; j++) {
      const da = Math.sign(a[i] - a[j])
      const db = Math.sign(b[i] - b[j])
      if (da === 0 && db === 0) continue
      if (da === 0) tiesA++
      else if (db === 0) tiesB++
      else if (da === db) concordant++
      else discordant++
    }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB))
  return denom > 0 ? (concordant - discordant) / denom : 0
}

export function agreement(predicted: readonly number[], measured: readonly number[]): Agreement {
  const n = measured.length
  const rel = measured.map((m, i) => predicted[i] / m - 1)
  const abs = rel.map(Math.abs)
  return {
    n,
    within5: n > 0 ? abs.filter((e) => e <= 0.05).length / n : 0,
    within10: n > 0 ? abs.filter((e) => e <= 0.1).length / n : 0,
    mape: n > 0 ? abs.reduce((s, e) => s + e, 0) / n : 0,
    medianError: n > 0 ? quantile(rel, 0.5) : 0,
    rmseMs: n > 0 ? Math.sqrt(measured.reduce((s, m, i) => s + (predicted[i] - m) ** 2, 0) / n) : 0,
    kendallTau: kendallTau(predicted, measured),
  }
}
