/**
 * Architectures: the architecture requests ("the most accurate few-shot model that runs in X ms on
 * this device class") with their state and progress as the controller pushes them
 * (/v1/events, `architecture` events), and the form that makes one (POST /v1/architectures).
 *
 *   #/architectures        the list
 *   #/architectures/new    the list with the form open
 *   #/architectures/ID     one request (architecture.tsx)
 */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { ApiError, getJson, postJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { ms, pct, when } from '../format.ts'
import { upsertById, useLive } from '../live.ts'
import { href, navigate } from '../router.ts'
import { OPEN_REQUEST_STATES, type ArchitectureRequestView, type LutSummary, type RequestResult } from '../types.ts'
import { ErrorBox, LiveBadge, Loading, NeedsLogin, OptionalNumbers, Progress, State, useAsync } from '../ui.tsx'
import { lutName, useLutList } from './luts.tsx'

/** The request form's search settings (empty = the server's default). */
const SEARCH_FIELDS = [
  ['population', 'population'],
  ['generations', 'generations'],
  ['seed', 'seed'],
  ['confirm', 'confirmed candidates'],
  ['confirmTasks', 'tasks per confirmation'],
] as const

/** architectureId(CONV4) of shared/src/space/search-space.ts: the baseline every answer is set against. */
export const CONV4_ID = 'g1_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp'

/** Conv4's predicted latency on a LUT, or why there is none (blocks missing, no LUT). */
export interface BaselineLatency {
  predictedMs: number | null
  missing: number
  error?: ApiError
}

export function useConv4Latency(lut: { profile: string; runtime: string; threads: number } | undefined) {
  return useAsync<BaselineLatency | undefined>(
    (signal) =>
      lut
        ? postJson<{ predictions: { predictedMs: number | null; missing: string[] }[] }>(
            `/v1/luts/${encodeURIComponent(lut.profile)}/predict`,
            { runtime: lut.runtime, threads: lut.threads, architectures: [CONV4_ID] },
            { signal },
          ).then(
            (r) => ({ predictedMs: r.predictions[0].predictedMs, missing: r.predictions[0].missing.length }),
            (error: ApiError) => {
              if (error.name === 'AbortError') throw error
              return { predictedMs: null, missing: 0, error }
            },
          )
        : Promise.resolve(undefined),
    [lut?.profile, lut?.runtime, lut?.threads],
  )
}

/** Where a request stands, as one line and, when countable, a bar. */
export function RequestProgress({ r }: { r: ArchitectureRequestView }) {
  const p = r.progress
  if (r.state === 'SUCCEEDED') return <Progress done={1} total={1} />
  if (r.state === 'FAILED') return <span class="muted">{r.error?.code ?? 'failed'}</span>
  // Its progress is where it stopped, not where it goes: no bar.
  if (r.state === 'CANCELED') return <span class="muted request-canceled">canceled{p ? ` while ${p.phase}` : ''}</span>
  if (!p) return <span class="muted">queued</span>
  const counted =
    p.generation !== undefined && p.generations !== undefined
      ? { done: p.generation, total: p.generations, what: `generation ${p.generation} of ${p.generations}` }
      : p.done !== undefined && p.total !== undefined
        ? { done: p.done, total: p.total, what: `${p.done.toLocaleString('en')} of ${p.total.toLocaleString('en')}` }
        : undefined
  return (
    <div class="request-progress" data-phase={p.phase}>
      <div>
        {p.phase}
        {counted && <span class="muted"> · {counted.what}</span>}
        {p.campaignId && (
          <>
            {' '}
            · <a href={href('campaigns', p.campaignId)}>campaign</a>
          </>
        )}
      </div>
      {counted && <Progress done={counted.done} total={counted.total} />}
    </div>
  )
}

/** The accuracy of the model a user downloads: fine-tuned if it was, else measured, else predicted. */
function ListAccuracy({ result }: { result: RequestResult }) {
  const { finetuned, measured, predicted } = result.accuracy
  if (finetuned)
    return (
      <>
        <span title={`fine-tuned; ${pct(measured?.mean)} with the inherited weights`}>{pct(finetuned.mean)}</span> <span class="muted">fine-tuned</span>
      </>
    )
  return <>{pct(measured?.mean ?? predicted)}</>
}

const numberOrUndefined = (s: string) => (s.trim() === '' ? undefined : Number(s))

function NewRequest({ luts, onCancel }: { luts: LutSummary[]; onCancel: () => void }) {
  const profiles = useMemo(() => [...new Set(luts.map((l) => l.hardwareProfile))].sort(), [luts])
  const [profile, setProfile] = useState(profiles[0] ?? '')
  const runtimes = useMemo(() => [...new Set(luts.filter((l) => l.hardwareProfile === profile).map((l) => l.runtime))].sort(), [luts, profile])
  const [runtime, setRuntime] = useState(runtimes[0] ?? 'onnxruntime')
  const threadChoices = useMemo(
    () => [...new Set(luts.filter((l) => l.hardwareProfile === profile && l.runtime === runtime).map((l) => l.threads))].sort((a, b) => a - b),
    [luts, profile, runtime],
  )
  const [threads, setThreads] = useState(threadChoices[0] ?? 1)
  // A LUT choice narrows the next: keep each field one the LUT list has.
  useEffect(() => {
    if (!runtimes.includes(runtime) && runtimes[0]) setRuntime(runtimes[0])
  }, [runtimes])
  useEffect(() => {
    if (!threadChoices.includes(threads) && threadChoices[0] !== undefined) setThreads(threadChoices[0])
  }, [threadChoices])
  const [latencyMs, setLatencyMs] = useState('')
  const [maxParams, setMaxParams] = useState('')
  const [way, setWay] = useState('5')
  const [shot, setShot] = useState('1')
  const [verify, setVerify] = useState(true)
  const [finetune, setFinetune] = useState('')
  const [search, setSearch] = useState<Record<string, string>>({})
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const conv4 = useConv4Latency(profile ? { profile, runtime, threads } : undefined)

  const submit = async (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = {
      hardwareProfile: profile,
      runtime,
      threads,
      constraints: { latencyMs: Number(latencyMs), ...(maxParams.trim() && { maxParams: Number(maxParams) }) },
      task: { way: Number(way), shot: Number(shot) },
      verify,
      ...(finetune.trim() && { finetune: Number(finetune) }),
    }
    const s = { population: numberOrUndefined(search.population ?? ''), generations: numberOrUndefined(search.generations ?? ''), seed: numberOrUndefined(search.seed ?? '') }
    if (Object.values(s).some((v) => v !== undefined)) body.search = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined))
    const confirm = numberOrUndefined(search.confirm ?? '')
    const confirmTasks = numberOrUndefined(search.confirmTasks ?? '')
    if (confirm !== undefined) body.confirm = confirm
    if (confirmTasks !== undefined) body.confirmTasks = confirmTasks
    setBusy(true)
    setError(undefined)
    try {
      const { id } = await postJson<{ id: string }>('/v1/architectures', body)
      navigate(href('architectures', id))
    } catch (err) {
      setError(err as ApiError)
    } finally {
      setBusy(false)
    }
  }

  const c4 = conv4.data
  return (
    <form class="card grid new-request" onSubmit={submit}>
      <h2 class="full">New architecture request: the most accurate few-shot model within a latency budget</h2>
      <label for="a-profile">hardware profile</label>
      <div>
        <select id="a-profile" name="hardwareProfile" value={profile} onChange={(e) => setProfile((e.target as HTMLSelectElement).value)}>
          {profiles.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>{' '}
        <span class="muted">the device classes with a LUT</span>
      </div>
      <label for="a-runtime">runtime</label>
      <select id="a-runtime" name="runtime" value={runtime} onChange={(e) => setRuntime((e.target as HTMLSelectElement).value)}>
        {runtimes.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <label for="a-threads">threads</label>
      <select id="a-threads" name="threads" value={String(threads)} onChange={(e) => setThreads(Number((e.target as HTMLSelectElement).value))}>
        {threadChoices.map((n) => (
          <option key={n} value={String(n)}>
            {n}
          </option>
        ))}
      </select>
      <label for="a-latency">latency budget (ms)</label>
      <div>
        <input id="a-latency" name="latencyMs" type="number" step="any" min={0} required value={latencyMs} onInput={(e) => setLatencyMs((e.target as HTMLInputElement).value)} />{' '}
        <span class="muted conv4-hint">
          {c4?.predictedMs != null
            ? `Conv4 on this LUT: ${ms(c4.predictedMs)} predicted`
            : c4?.missing
              ? `Conv4 is not predictable on this LUT yet (${c4.missing} of its blocks are missing)`
              : ''}
        </span>
      </div>
      <label for="a-params">max. parameters</label>
      <div>
        <input id="a-params" name="maxParams" type="number" min={1} step={1} placeholder="no limit" value={maxParams} onInput={(e) => setMaxParams((e.target as HTMLInputElement).value)} />
      </div>
      <span>task</span>
      <div class="checks">
        <label>
          way
          <input name="way" type="number" min={2} max={100} required style={{ width: '70px' }} value={way} onInput={(e) => setWay((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          shot
          <input name="shot" type="number" min={1} max={50} required style={{ width: '70px' }} value={shot} onInput={(e) => setShot((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <span>verify</span>
      <label>
        <input type="checkbox" name="verify" checked={verify} onChange={() => setVerify(!verify)} />
        measure the answer whole on an online device of the class
      </label>
      <label for="a-finetune">fine-tuning</label>
      <div>
        <input
          id="a-finetune"
          name="finetune"
          type="number"
          min={0}
          max={100000}
          step={1}
          placeholder="none"
          style={{ width: '100px' }}
          value={finetune}
          onInput={(e) => setFinetune((e.target as HTMLInputElement).value)}
        />{' '}
        <span class="muted">meta-iterations that train the answer alone from its inherited weights (its accuracy is measured before and after)</span>
      </div>
      <span>search</span>
      <OptionalNumbers fields={SEARCH_FIELDS} values={search} onChange={setSearch} step={1} />
      <div class="full toolbar">
        <button class="primary" type="submit" disabled={busy || !profile}>
          Request architecture
        </button>
        <button type="button" onClick={onCancel}>
          Close
        </button>
      </div>
      {error && (
        <div class="full error request-error" role="alert">
          <strong>The controller did not take the request</strong>
          <code class="code">{error.code}</code>
          <div>{error.message}</div>
        </div>
      )}
    </form>
  )
}

export function ArchitecturesPage({ session, creating }: { session: Session; creating: boolean }) {
  const requests = useAsync(
    (signal) => (session.canRead ? getJson<ArchitectureRequestView[]>('/v1/architectures', { signal }) : Promise.resolve([])),
    [session.canRead],
  )
  const luts = useLutList(session.canRead)
  const live = useLive(session.canRead ? '?devices=false&campaigns=false' : null, {
    architecture: (r) =>
      requests.setData((list) => upsertById(list, r, 'start')),
  })
  if (!session.canRead)
    return (
      <>
        <h1>Architectures</h1>
        <NeedsLogin what="and make architecture requests" />
      </>
    )
  const list = [...(requests.data ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  const open = list.filter((r) => OPEN_REQUEST_STATES.has(r.state)).length
  return (
    <div data-ready={requests.data && luts.data ? 'architectures' : undefined}>
      <h1>
        Architectures <LiveBadge status={live} />
        {!creating && (
          <button class="primary" onClick={() => navigate('#/architectures/new')}>
            New request
          </button>
        )}
      </h1>
      <p class="muted">
        A request asks for the most accurate few-shot architecture that runs within a latency budget on a device class: searched against that class's
        LUT and latency model, with accuracy from the controller's meta-trained supernet. {open > 0 && `${open} open.`}
      </p>
      {creating &&
        luts.data &&
        (luts.data.length === 0 ? (
          <div class="notice missing">
            No LUT yet, so there is nothing to search against: profile blocks on a device class first (<a href="#/campaigns/new">new campaign</a>).
          </div>
        ) : (
          <NewRequest luts={luts.data} onCancel={() => navigate('#/architectures')} />
        ))}
      {requests.error && <ErrorBox error={requests.error} what="the architecture requests" />}
      {!requests.data && !requests.error && <Loading what="the architecture requests" />}
      {requests.data && list.length === 0 && <p class="muted">No architecture request yet.</p>}
      {list.length > 0 && (
        <table class="requests">
          <thead>
            <tr>
              <th>request</th>
              <th>state</th>
              <th style={{ width: '24%' }}>progress</th>
              <th>LUT</th>
              <th class="num">budget</th>
              <th>task</th>
              <th>answer</th>
              <th class="num">accuracy</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <tr key={r.id} data-request={r.id} class="clickable" onClick={() => navigate(href('architectures', r.id))}>
                <td>
                  <a href={href('architectures', r.id)} class="mono">
                    {r.id}
                  </a>
                </td>
                <td>
                  <State state={r.state} />
                </td>
                <td>
                  <RequestProgress r={r} />
                </td>
                <td>{lutName({ profile: r.request.hardwareProfile, runtime: r.request.runtime, threads: r.request.threads })}</td>
                <td class="num">{ms(r.request.constraints.latencyMs)}</td>
                <td>
                  {r.request.task.way}-way {r.request.task.shot}-shot
                </td>
                <td>{r.result ? `${ms(r.result.latency.predictedMs)} predicted${r.result.latency.measuredMs != null ? `, ${ms(r.result.latency.measuredMs)} measured` : ''}` : '–'}</td>
                <td class="num accuracy">{r.result ? <ListAccuracy result={r.result} /> : '–'}</td>
                <td>{when(r.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
