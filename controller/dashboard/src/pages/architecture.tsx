/**
 * One architecture request: its state and progress as the controller pushes them
 * (/v1/events?architecture=ID, and the campaign it waits on while profiling or verifying), and
 * once answered the architecture with its blocks, predicted latency with its interval, measured
 * latency when verified, accuracy with its 95% CI, the accuracy-latency Pareto front with Conv4
 * marked at its predicted latency, and the model and checkpoint downloads.
 */
import { useState } from 'preact/hooks'
import { ApiError, download, getJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { Figure } from '../figure.tsx'
import { ms, pct, when } from '../format.ts'
import { useLive } from '../live.ts'
import { href } from '../router.ts'
import { OPEN_REQUEST_STATES, type ArchitectureRequestView, type CampaignView, type RequestResult } from '../types.ts'
import { ErrorBox, Facts, LiveBadge, Loading, NeedsLogin, Progress, State, useAsync } from '../ui.tsx'
import { lutName } from './luts.tsx'
import { RequestProgress, useConv4Latency, type BaselineLatency } from './architectures.tsx'

const seconds = (v: number) => (v > 0 ? `${(v / 1000).toFixed(1)} s` : '–')

function Downloads({ r, result }: { r: ArchitectureRequestView; result: RequestResult }) {
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState<string | undefined>()
  const name = `${result.architecture.id}-${r.request.task.way}way`
  const get = async (file: 'model.onnx' | 'checkpoint', filename: string) => {
    setBusy(file)
    setError(undefined)
    try {
      await download(`/v1/architectures/${encodeURIComponent(r.id)}/${file}`, filename)
    } catch (e) {
      setError(e as ApiError)
    } finally {
      setBusy(undefined)
    }
  }
  return (
    <div class="toolbar downloads">
      <button class="primary" disabled={busy !== undefined} onClick={() => get('model.onnx', `${name}.onnx`)}>
        Download model.onnx
      </button>
      <button disabled={busy !== undefined} onClick={() => get('checkpoint', `${name}.ckpt`)}>
        Download checkpoint
      </button>
      <span class="muted">
        ONNX: the meta-trained weights with a zero classifier head (adapt it with <code>fleetnas adapt --checkpoint</code>, which takes the checkpoint)
      </span>
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

function Answer({ r, result }: { r: ArchitectureRequestView; result: RequestResult }) {
  const req = r.request
  const conv4 = useConv4Latency({ profile: req.hardwareProfile, runtime: req.runtime, threads: req.threads })
  const lat = result.latency
  const measured = result.accuracy.measured
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
              ['parameters', `${result.params.toLocaleString('en')}${req.constraints.maxParams ? ` (max. ${req.constraints.maxParams.toLocaleString('en')})` : ''}`],
            ]}
          />
        </div>
        <div class="card">
          <Facts
            rows={[
              [
                'accuracy (measured)',
                measured ? (
                  <span class="measured-accuracy">
                    {pct(measured.mean)} ± {pct(measured.ci95)} <span class="muted">(95% CI, {measured.tasks} tasks)</span>
                  </span>
                ) : (
                  '–'
                ),
              ],
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
    </>
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
      </h1>
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
                    'time',
                    `accuracy predictor ${seconds(r.result.timings.predictorMs)}, search ${seconds(r.result.timings.searchMs)}, profiling ${seconds(r.result.timings.profilingMs)}, confirmation ${seconds(r.result.timings.confirmMs)}, verification ${seconds(r.result.timings.verifyMs)}`,
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
