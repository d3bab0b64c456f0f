/**
 * One architecture request: its state and progress as the controller pushes them
 * (/v1/events?architecture=ID, and the campaign it waits on while profiling or verifying), a
 * Cancel button while it is open, and once answered the architecture with its blocks, predicted
 * latency with its interval, measured latency when verified, accuracy with its 95% CI (with the
 * inherited weights, and after fine-tuning when asked for), the accuracy-latency Pareto front with
 * Conv4 marked at its predicted latency, and the model and checkpoint downloads.
 */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { ApiError, download, getJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { Figure } from '../figure.tsx'
import { ms, pct, when } from '../format.ts'
import { useLive } from '../live.ts'
import { href } from '../router.ts'
import { OPEN_REQUEST_STATES, type ArchitectureRequestView, type CampaignView, type MeasuredAccuracy, type RequestResult } from '../types.ts'
import { ErrorBox, Facts, LiveBadge, Loading, NeedsLogin, Progress, State, useAsync, useCancel } from '../ui.tsx'
import { lutName } from './luts.tsx'
import { RequestProgress, useConv4Latency, type BaselineLatency } from './architectures.tsx'

const seconds = (v: number) => (v > 0 ? `${(v / 1000).toFixed(1)} s` : '–')

/** Which weights the downloads carry: the controller serves the fine-tuned ones when the request fine-tuned. */
function weightsNote(result: RequestResult): string {
  return result.finetune
    ? `the fine-tuned weights (${result.finetune.iterations.toLocaleString('en')} meta-iterations of this sub-network alone, from its inherited weights)`
    : 'the weights inherited from the meta-trained supernet'
}

function Downloads({ r, result }: { r: ArchitectureRequestView; result: RequestResult }) {
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState<string | undefined>()
  /** What the last download carried, as the controller labelled it (x-fleetnas-weights). */
  const [got, setGot] = useState<{ file: string; weights: string } | undefined>()
  // The controller names the file too (and marks fine-tuned weights); this is the fallback.
  const name = `${result.architecture.id}-${r.request.task.way}way${result.finetune ? '-finetuned' : ''}`
  const get = async (file: 'model.onnx' | 'checkpoint', filename: string) => {
    setBusy(file)
    setError(undefined)
    setGot(undefined)
    try {
      const headers = await download(`/v1/architectures/${encodeURIComponent(r.id)}/${file}`, filename)
      setGot({ file, weights: headers.get('x-fleetnas-weights') ?? 'unlabelled' })
    } catch (e) {
      setError(e as ApiError)
    } finally {
      setBusy(undefined)
    }
  }
  return (
    <div class="toolbar downloads" data-weights={result.finetune ? 'finetuned' : 'inherited'}>
      <button class="primary" disabled={busy !== undefined} onClick={() => get('model.onnx', `${name}.onnx`)}>
        Download model.onnx
      </button>
      <button disabled={busy !== undefined} onClick={() => get('checkpoint', `${name}.ckpt`)}>
        Download checkpoint
      </button>
      <span class="muted weights-note">
        Both carry {weightsNote(result)}. ONNX has a zero classifier head (adapt it with <code>fleetnas adapt --checkpoint</code>, which takes the
        checkpoint)
      </span>
      {got && (
        <span class="downloaded" data-weights={got.weights}>
          {got.file} downloaded: {got.weights === 'finetuned' ? 'fine-tuned' : got.weights} weights
        </span>
      )}
      {error && <ErrorBox error={error} what="the download" />}
    </div>
  )
}

function baselineNote(b: BaselineLatency | undefined): string {
  if (!b) return 'Conv4: predicting…'
  if (b.predictedMs !== null) return `Conv4 (the usual few-shot baseline) is predicted at ${ms(b.predictedMs)} on this LUT.`
  if (b.error) return `Conv4 is not marked: ${b.error.message}`
  return `Conv4 is not marked: the LUT lacks ${b.missing} of its blocks (profile them to compare).`
}

/** "71.3% ± 2.1% (95% CI, 100 tasks)" */
function AccuracyWithCi({ a, class: cls }: { a: MeasuredAccuracy; class: string }) {
  return (
    <span class={cls}>
      {pct(a.mean)} ± {pct(a.ci95)} <span class="muted">(95% CI, {a.tasks} tasks)</span>
    </span>
  )
}

/** Measured accuracy with the inherited weights and, when the request fine-tuned, after it (same tasks, so the change is comparable). */
function accuracyRows(result: RequestResult): [string, ComponentChildren][] {
  const { measured, finetuned } = result.accuracy
  if (!finetuned) return [['accuracy (measured)', measured ? <AccuracyWithCi a={measured} class="measured-accuracy" /> : '–']]
  const change = measured ? (finetuned.mean - measured.mean) * 100 : undefined
  return [
    ['accuracy (inherited weights)', measured ? <AccuracyWithCi a={measured} class="measured-accuracy" /> : '–'],
    [
      'accuracy (fine-tuned)',
      <>
        <AccuracyWithCi a={finetuned} class="finetuned-accuracy" />
        {change !== undefined && <span class="muted accuracy-change"> {`${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)} points`}</span>}
      </>,
    ],
  ]
}

function Answer({ r, result }: { r: ArchitectureRequestView; result: RequestResult }) {
  const req = r.request
  const conv4 = useConv4Latency({ profile: req.hardwareProfile, runtime: req.runtime, threads: req.threads })
  const lat = result.latency
  const baseline = conv4.data?.predictedMs != null ? { label: 'Conv4', latencyMs: conv4.data.predictedMs } : undefined
  return (
    <>
      <h2>Answer</h2>
      <div class="card answer">
        <div class="mono architecture-id">{result.architecture.id}</div>
        <Downloads r={r} result={result} />
      </div>
      <div class="row">
        <div class="card">
          <Facts
            rows={[
              ['predicted latency', <span class="predicted-latency">{ms(lat.predictedMs)}</span>],
              ['95% interval', lat.lowMs !== null && lat.highMs !== null ? `${ms(lat.lowMs)} – ${ms(lat.highMs)}` : '–'],
              ['latency model', lat.model],
              [
                'measured latency',
                lat.measuredMs !== null ? (
                  <span class="measured-latency">
                    {ms(lat.measuredMs)} <span class="muted">(predicted / measured {(lat.predictedMs / lat.measuredMs).toFixed(3)})</span>
                  </span>
                ) : req.verify ? (
                  'not verified (no online device of the class)'
                ) : (
                  'not asked for (verify off)'
                ),
              ],
              ['budget', ms(req.constraints.latencyMs)],
              [
                'held within it as',
                lat.boundMs !== undefined && lat.confidence !== undefined ? (
                  <span class="latency-bound">
                    {ms(lat.boundMs)}{' '}
                    <span class="muted">
                      (prediction +{pct(lat.margin ?? 0)}: {Math.round(lat.confidence * 100)}% of the calibration networks measured within their prediction + that)
                    </span>
                  </span>
                ) : (
                  'the bare prediction'
                ),
              ],
              ['parameters', `${result.params.toLocaleString('en')}${req.constraints.maxParams ? ` (max. ${req.constraints.maxParams.toLocaleString('en')})` : ''}`],
            ]}
          />
        </div>
        <div class="card">
          <Facts
            rows={[
              ...accuracyRows(result),
              ['accuracy (predicted)', pct(result.accuracy.predicted)],
              ['task', `${req.task.way}-way ${req.task.shot}-shot`],
              ['supernet', `${result.supernet.iterations.toLocaleString('en')} meta-training iterations`],
            ]}
          />
        </div>
      </div>
      {result.unconsidered.architectures > 0 && (
        <div class="notice missing">
          {result.unconsidered.architectures} candidates could not be predicted, so the search did not consider them: the LUT still lacks{' '}
          {result.unconsidered.missingBlocks.length >= 200 ? '200 or more' : result.unconsidered.missingBlocks.length} of their blocks. Profiling them
          on this device class (a campaign) and asking again widens the search.
        </div>
      )}
      <div class="row">
        <div class="chart">
          <h3>Accuracy-latency Pareto front (predicted; {result.front.length} architectures)</h3>
          <Figure
            ready="pareto"
            deps={[r.id, result.front.length, baseline?.latencyMs]}
            make={(c) => c.paretoFront(result.front, { chosen: result.architecture.id, budgetMs: req.constraints.latencyMs, baseline })}
          />
          <p class="muted conv4-note" data-conv4={baseline ? 'marked' : 'unmarked'}>
            {baselineNote(conv4.data)}
          </p>
        </div>
        <div class="card blocks">
          <h2>Blocks ({result.architecture.blocks.length})</h2>
          <ol class="mono">
            {result.architecture.blocks.map((b, i) => (
              <li key={i}>{b}</li>
            ))}
          </ol>
        </div>
      </div>
      {result.confirmed && result.confirmed.length > 0 && <Confirmed rows={result.confirmed} chosen={result.architecture.id} />}
    </>
  )
}

/**
 * The candidates evaluated for real on the same tasks, best first: the search's best few by
 * predicted accuracy, and anchors (uniform networks the supernet trains best) within the budget.
 */
function Confirmed({ rows, chosen }: { rows: NonNullable<RequestResult['confirmed']>; chosen: string }) {
  return (
    <div class="card confirmed">
      <h3>Confirmed for real ({rows.length} candidates, inherited weights, the same tasks)</h3>
      <table>
        <thead>
          <tr>
            <th>architecture</th>
            <th class="num">latency (predicted)</th>
            <th class="num">accuracy (predicted)</th>
            <th class="num">accuracy (measured)</th>
            <th>from</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={c.id} class={c.id === chosen ? 'chosen' : undefined}>
              <td class="mono">{c.id}</td>
              <td class="num">{ms(c.latencyMs)}</td>
              <td class="num">{pct(c.predicted)}</td>
              <td class="num">
                <AccuracyWithCi a={c.measured} class="confirmed-accuracy" />
              </td>
              <td>{c.anchor ? 'anchor (uniform network)' : 'search'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The campaign a request waits on (profiling missing blocks, or verifying), as it progresses. */
function CampaignProgress({ campaign }: { campaign: CampaignView | undefined }) {
  if (!campaign) return null
  return (
    <div class="toolbar">
      <span>
        campaign <a href={href('campaigns', campaign.id)}>{campaign.name}</a> <State state={campaign.state} />
      </span>
      <div style={{ flex: 1 }}>
        <Progress done={campaign.progress.succeeded} total={campaign.progress.total} failed={campaign.progress.failed} />
      </div>
    </div>
  )
}

/** A canceled request: a user's decision, so a plain notice and not an alarm; where it stood when it stopped. */
function CanceledNotice({ r }: { r: ArchitectureRequestView }) {
  const p = r.progress
  const where = p && p.done !== undefined && p.total !== undefined ? `${p.phase}, ${p.done.toLocaleString('en')} of ${p.total.toLocaleString('en')}` : p?.phase
  return (
    <div class="notice request-canceled">
      <strong>Canceled</strong> {when(r.updatedAt)}
      {where ? ` while ${where}` : ' before it ran'}: it has no answer. Ask again to search anew.
    </div>
  )
}

export function ArchitecturePage({ id, session }: { id: string; session: Session }) {
  const request = useAsync((signal) => getJson<ArchitectureRequestView>(`/v1/architectures/${encodeURIComponent(id)}`, { signal }), [id])
  const waitingOn = request.data && OPEN_REQUEST_STATES.has(request.data.state) ? request.data.progress?.campaignId : undefined
  const campaign = useAsync(
    (signal) => (waitingOn ? getJson<CampaignView>(`/v1/campaigns/${encodeURIComponent(waitingOn)}`, { signal }) : Promise.resolve(undefined)),
    [waitingOn],
  )
  const query = `?devices=false&architecture=${encodeURIComponent(id)}${waitingOn ? `&campaign=${encodeURIComponent(waitingOn)}` : '&campaigns=false'}`
  const live = useLive(session.canRead ? query : null, {
    architecture: (r) => r.id === id && request.setData(() => r),
    campaign: (c) => c.id === waitingOn && campaign.setData(() => c),
  })
  const canceling = useCancel(
    `/v1/architectures/${encodeURIComponent(id)}/cancel`,
    () => `Cancel architecture request ${id}? It stops at its next step (with the campaign it waits on) and gives no answer.`,
    request,
  )

  if (!session.canRead) return <NeedsLogin what={`architecture request ${id}`} />
  if (request.error) return <ErrorBox error={request.error} what={`architecture request ${id}`} />
  if (!request.data) return <Loading what={`architecture request ${id}`} />
  const r = request.data
  const req = r.request
  const open = OPEN_REQUEST_STATES.has(r.state)
  return (
    <div data-ready="architecture" data-state={r.state}>
      <h1>
        <span class="mono">{r.id}</span> <State state={r.state} /> {open && <LiveBadge status={live} />}
        {open && (
          <button class="danger cancel-request" onClick={canceling.cancel} disabled={canceling.busy}>
            Cancel request
          </button>
        )}
      </h1>
      {canceling.error && <ErrorBox error={canceling.error} what="" />}
      <p>
        <a href="#/architectures">All requests</a>
      </p>
      {open && (
        <div class="card">
          <RequestProgress r={r} />
          {waitingOn && <CampaignProgress campaign={campaign.data?.id === waitingOn ? campaign.data : undefined} />}
        </div>
      )}
      {r.state === 'FAILED' && r.error && (
        <div class="error request-failed" role="alert">
          <strong>The request failed</strong>
          <code class="code">{r.error.code}</code>
          <div>{r.error.message}</div>
        </div>
      )}
      {r.state === 'CANCELED' && <CanceledNotice r={r} />}
      {r.result && <Answer r={r} result={r.result} />}
      <h2>Request</h2>
      <div class="card">
        <Facts
          rows={[
            ['LUT', <a href={`#/model?lut=${encodeURIComponent(`${req.hardwareProfile}/${req.runtime}/${req.threads}`)}`}>{lutName({ profile: req.hardwareProfile, runtime: req.runtime, threads: req.threads })}</a>],
            ['device', req.deviceId ?? '–'],
            ['latency budget', ms(req.constraints.latencyMs)],
            ['max. parameters', req.constraints.maxParams?.toLocaleString('en') ?? '–'],
            ['task', `${req.task.way}-way ${req.task.shot}-shot`],
            [
              'settings',
              `population ${req.search.population ?? 'default'}, generations ${req.search.generations ?? 'default'}, seed ${req.search.seed}; ${req.confirm} confirmed on ${req.confirmTasks} tasks each`,
            ],
            ['fine-tuning', req.finetune ? `${req.finetune.toLocaleString('en')} meta-iterations of the answer alone` : 'no'],
            ['verify', req.verify ? 'yes' : 'no'],
            ['created', when(r.createdAt)],
            ['updated', when(r.updatedAt)],
            ...(r.result
              ? ([
                  [
                    'search',
                    `${r.result.search.evaluated.toLocaleString('en')} candidates evaluated in ${r.result.search.generations} generations (${r.result.search.infeasible} over budget, ${r.result.search.unpredictable} unpredictable)`,
                  ],
                  [
                    // Answers from before fine-tuning existed have no finetuneMs.
                    'time',
                    `accuracy predictor ${seconds(r.result.timings.predictorMs)}, search ${seconds(r.result.timings.searchMs)}, profiling ${seconds(r.result.timings.profilingMs)}, confirmation ${seconds(r.result.timings.confirmMs)}, fine-tuning ${seconds(r.result.timings.finetuneMs ?? 0)}, verification ${seconds(r.result.timings.verifyMs)}`,
                  ],
                  ['supernet', r.result.supernet.checkpoint],
                ] as [string, string][])
              : []),
          ]}
        />
      </div>
    </div>
  )
}
