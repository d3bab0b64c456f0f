/** `fleetnas latency model|predict`: a LUT's latency model and predictions through the HTTP API. */
import type { ApiClient } from '../api-client.ts'
import { ms, pct, table } from '../format.ts'
import type { Agreement } from '../../latency/fit-stats.ts'
import type { LatencyModelView, LatencyPrediction } from '../../latency/service.ts'

export interface LatencySelector {
  hardwareProfile: string
  runtime?: string
  threads?: number
}

/** The API's replies, as the controller types them (views of its own records). */
export type ModelView = LatencyModelView
export type PredictionView = LatencyPrediction

const agreementLine = (name: string, a: Agreement) =>
  `  ${name}: ${pct(a.within10)} within ±10%, ${pct(a.within5)} within ±5%, MAPE ${pct(a.mape)}, median error ${a.medianError >= 0 ? '+' : ''}${pct(a.medianError)}, Kendall tau ${a.kendallTau.toFixed(3)}`

export function describeModel(m: ModelView): string {
  const head = `latency model ${m.hardwareProfile} / ${m.runtime} / ${m.threads} thread(s) (${m.backend}), fitted ${m.fittedAt}`
  if (m.model.kind === 'block-sum' || !m.model.report)
    return `${head}\n  the bare sum of block medians plus one call overhead (${ms(m.model.callOverheadMs)} ms): ${m.model.n} architecture(s) measured whole, too few to fit; run a campaign with --calibration N`
  const r = m.model.report
  return [
    `${head}`,
    `  fitted on ${m.model.n} architectures measured whole; figures are ${r.folds}-fold cross-validated (each architecture predicted by a fit without it)`,
    agreementLine('fitted model', r.heldOut),
    agreementLine('bare block sum', r.blockSum),
    `  95% of predictions fall within ${pct(m.model.interval!.low)} .. +${pct(m.model.interval!.high)} of the measured latency`,
  ].join('\n')
}

export async function fetchModel(api: ApiClient, s: LatencySelector): Promise<ModelView> {
  const q = new URLSearchParams({ runtime: s.runtime ?? 'onnxruntime', threads: String(s.threads ?? 1) })
  return api.get<ModelView>(`/v1/luts/${encodeURIComponent(s.hardwareProfile)}/model?${q}`)
}

export async function predictLatency(api: ApiClient, s: LatencySelector, architectures: string[]): Promise<PredictionView[]> {
  const reply = await api.post<{ predictions: PredictionView[] }>(`/v1/luts/${encodeURIComponent(s.hardwareProfile)}/predict`, {
    runtime: s.runtime ?? 'onnxruntime',
    threads: s.threads ?? 1,
    architectures,
  })
  return reply.predictions
}

export function describePredictions(predictions: PredictionView[]): string {
  const rows = predictions.map((p) => [
    p.id,
    p.predictedMs === null ? 'missing blocks' : ms(p.predictedMs),
    p.lowMs === null || p.highMs === null ? '-' : `${ms(p.lowMs)}..${ms(p.highMs)}`,
    ms(p.blockSumMs),
    ms(p.measuredMs),
    p.model,
  ])
  const lines = [table(['ARCHITECTURE', 'PREDICTED MS', '95% INTERVAL', 'BLOCK SUM', 'MEASURED', 'MODEL'], rows)]
  for (const p of predictions) {
    if (p.missing.length > 0) lines.push(`${p.id}: the LUT lacks ${p.missing.length} block(s): ${p.missing.join(', ')} (profile them: fleetnas campaign create --architectures ...)`)
    if (p.belowOverhead.length > 0) lines.push(`${p.id}: ${p.belowOverhead.length} block(s) below the call overhead, counted as 0 ms`)
  }
  return lines.join('\n')
}
