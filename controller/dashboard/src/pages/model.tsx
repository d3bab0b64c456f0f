/**
 * Latency model: per LUT, the model and fit report of GET /v1/luts/:profile/model?runtime&threads
 * (held-out agreement beside the bare block sum) and its held-out architectures as predicted vs
 * measured with the +-10% band. Until a model is fitted the page says so and how to get one.
 */
import { ApiError, getJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { Figure } from '../figure.tsx'
import { navigate } from '../router.ts'
import type { ScatterPoint } from '../charts.ts'
import { ms, pct, when } from '../format.ts'
import { ErrorBox, Facts, Loading, NeedsLogin, useAsync } from '../ui.tsx'
import { lutName, useLutList, type LutRef } from './luts.tsx'

interface Agreement {
  n: number
  within5: number
  within10: number
  mape: number
  medianError: number
  rmseMs: number
  kendallTau: number
}

/** GET /v1/luts/:profile/model (the latency plugin's ModelSchema). */
export interface ModelReport {
  hardwareProfile: string
  runtime: string
  threads: number
  backend: string
  fittedAt: string
  model: {
    kind: string
    features: string[]
    coefficients: number[]
    callOverheadMs: number
    n: number
    interval: { low: number; high: number } | null
    report: { heldOut: Agreement; blockSum: Agreement; folds: number; shrinkage: number } | null
    points: { id: string; measuredMs: number; predictedMs: number }[]
  }
}

const AGREEMENT: [keyof Agreement, string, (v: number) => string][] = [
  ['n', 'architectures', (v) => String(v)],
  ['within10', 'within ±10%', (v) => pct(v)],
  ['within5', 'within ±5%', (v) => pct(v)],
  ['mape', 'MAPE', (v) => pct(v, 2)],
  ['medianError', 'median error', (v) => `${v > 0 ? '+' : ''}${pct(v, 2)}`],
  ['rmseMs', 'RMSE', (v) => ms(v)],
  ['kendallTau', 'Kendall tau', (v) => v.toFixed(3)],
]

function ModelOf({ lut }: { lut: LutRef }) {
  const q = new URLSearchParams({ runtime: lut.runtime, threads: String(lut.threads) })
  const model = useAsync(
    (signal) =>
      getJson<ModelReport>(`/v1/luts/${encodeURIComponent(lut.profile)}/model?${q}`, { signal }).then(
        (report) => ({ report, missing: undefined }),
        (e: ApiError) => {
          if (e.status === 404) return { report: undefined, missing: e }
          throw e
        },
      ),
    [lut.profile, lut.runtime, lut.threads],
  )
  if (model.error) return <ErrorBox error={model.error} what="the latency model" />
  if (!model.data) return <Loading what="the latency model" />
  const { report, missing } = model.data
  if (!report) {
    return (
      <div class="notice missing" data-ready="model">
        <strong>No latency model is fitted yet for {lutName(lut)}.</strong>{' '}
        {missing?.code === 'FLEETNAS_ERR_HTTP_NOT_FOUND' ? 'This controller has no latency model (GET /v1/luts/:profile/model).' : missing?.message}
      </div>
    )
  }
  const m = report.model
  const points: ScatterPoint[] = m.points.map((p) => ({ measuredMs: p.measuredMs, predictedMs: p.predictedMs, label: p.id }))
  return (
    <div data-ready="model">
      {m.kind !== 'fitted' && (
        <div class="notice missing">
          <strong>No model is fitted yet for {lutName(lut)}</strong>: it has too few whole-architecture measurements ({m.n}), so predictions are the bare
          sum of block medians plus one call overhead. A campaign with a calibration set (<code>calibration: {'{'}count: 40{'}'}</code> in{' '}
          <code>POST /v1/campaigns</code>, or <code>fleetnas campaign create --calibration 40</code>) measures architectures whole and the model is
          fitted on them.
        </div>
      )}
      <div class="row">
        <div class="card">
          <h2>Model</h2>
          <Facts
            rows={[
              ['kind', m.kind],
              ['calibration architectures', m.n],
              ['call overhead', ms(m.callOverheadMs)],
              ['95% interval', m.interval ? `${pct(m.interval.low)} … +${pct(m.interval.high)}` : '–'],
              ['features', m.features.map((f, i) => `${f} ${m.coefficients[i]?.toPrecision(3) ?? ''}`).join(', ') || '–'],
              ['backend', report.backend],
              ['fitted', when(report.fittedAt)],
            ]}
          />
        </div>
        {m.report && (
          <div class="card">
            <h2>Held-out agreement ({m.report.folds}-fold)</h2>
            <table class="agreement">
              <thead>
                <tr>
                  <th />
                  <th class="num">model</th>
                  <th class="num">bare block sum</th>
                </tr>
              </thead>
              <tbody>
                {AGREEMENT.map(([k, label, f]) => (
                  <tr key={k}>
                    <th scope="row">{label}</th>
                    <td class="num">{f(m.report!.heldOut[k])}</td>
                    <td class="num">{f(m.report!.blockSum[k])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="chart">
          <h3>Held-out architectures: predicted vs measured (band: ±10%)</h3>
          {points.length ? (
            <Figure ready="scatter" deps={[points.length, lutName(lut), report.fittedAt]} make={(c) => c.predictedVsMeasured(points)} />
          ) : (
            <p class="muted">No architecture of this LUT has been measured whole yet, so there is nothing to plot.</p>
          )}
        </div>
      </div>
    </div>
  )
}

export function ModelPage({ session, query }: { session: Session; query: URLSearchParams }) {
  const luts = useLutList(session.canRead)
  if (!session.canRead)
    return (
      <>
        <h1>Latency model</h1>
        <NeedsLogin what="the latency models" />
      </>
    )
  if (luts.error) return <ErrorBox error={luts.error} what="the LUTs" />
  if (!luts.data) return <Loading what="the LUTs" />
  const [profile, runtime, threads] = (query.get('lut') ?? '').split('/')
  const first = luts.data[0]
  const lut: LutRef | undefined = profile
    ? { profile, runtime, threads: Number(threads) }
    : first && { profile: first.hardwareProfile, runtime: first.runtime, threads: first.threads }
  return (
    <>
      <h1>Latency model</h1>
      <p class="muted">
        A LUT's blocks summed are not an architecture's latency: a model fitted on whole architectures measured on the device class corrects the sum.
        Its quality is judged on architectures held out of the fit.
      </p>
      {!lut ? (
        <div class="notice missing" data-ready="model">
          No LUT yet, so no model: profile blocks first (<a href="#/campaigns/new">new campaign</a>).
        </div>
      ) : (
        <>
          <div class="toolbar">
            <label>
              LUT
              <select value={`${lut.profile}/${lut.runtime}/${lut.threads}`} onChange={(e) => navigate(`#/model?lut=${(e.target as HTMLSelectElement).value}`, true)}>
                {luts.data.map((l) => (
                  <option key={`${l.hardwareProfile}/${l.runtime}/${l.threads}`} value={`${l.hardwareProfile}/${l.runtime}/${l.threads}`}>
                    {lutName({ profile: l.hardwareProfile, runtime: l.runtime, threads: l.threads })}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <ModelOf key={lutName(lut)} lut={lut} />
        </>
      )}
    </>
  )
}
