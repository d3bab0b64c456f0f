/** Campaigns: the list with live state and progress, and the form that creates one. */
import { useMemo, useState } from 'preact/hooks'
import { ApiError, getJson, postJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { when } from '../format.ts'
import { upsertById, useLive } from '../live.ts'
import { href, navigate } from '../router.ts'
import type { CampaignView, DeviceView } from '../types.ts'
import { ErrorBox, LiveBadge, Loading, NeedsLogin, OptionalNumbers, Progress, State, useAsync } from '../ui.tsx'

const SETTINGS = [
  ['warmupRuns', 'warm-up runs'],
  ['minRuns', 'min. timed runs'],
  ['minTimeMs', 'min. time (ms)'],
  ['rounds', 'rounds'],
  ['maxCv', 'max. CV (0-1)'],
] as const

function numbers(text: string): number[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
}

function NewCampaign({ onCancel }: { onCancel: () => void }) {
  const devices = useAsync((signal) => getJson<DeviceView[]>('/v1/devices', { signal }), [])
  const profiles = useMemo(() => [...new Set((devices.data ?? []).map((d) => d.hardwareProfile).filter((p): p is string => !!p))].sort(), [devices.data])
  const [name, setName] = useState(() => `dashboard-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}`)
  const [sample, setSample] = useState('24')
  const [chosenDevices, setChosenDevices] = useState<string[]>([])
  const [chosenProfiles, setChosenProfiles] = useState<string[]>([])
  const [runtimes, setRuntimes] = useState<string[]>(['onnxruntime'])
  const [threads, setThreads] = useState('')
  const [settings, setSettings] = useState<Record<string, string>>({})
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)

  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v])
  const submit = async (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = { name, searchSpace: 'default', targets: {}, runtimes }
    if (sample.trim()) body.sample = Number(sample)
    const targets: Record<string, string[]> = {}
    if (chosenDevices.length) targets.devices = chosenDevices
    if (chosenProfiles.length) targets.hardwareProfiles = chosenProfiles
    body.targets = targets
    if (threads.trim()) body.threads = numbers(threads)
    const s = Object.fromEntries(Object.entries(settings).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, Number(v)]))
    if (Object.keys(s).length) body.settings = s
    setBusy(true)
    try {
      const { id } = await postJson<{ id: string }>('/v1/campaigns', body)
      navigate(href('campaigns', id))
    } catch (err) {
      setError(err as ApiError)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="card grid new-campaign" onSubmit={submit}>
      <h2 class="full">New campaign: blocks of the default search space</h2>
      <label for="c-name">name</label>
      <input id="c-name" name="name" value={name} required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <label for="c-sample">blocks (sample)</label>
      <div>
        <input id="c-sample" name="sample" type="number" min={1} max={20000} value={sample} onInput={(e) => setSample((e.target as HTMLInputElement).value)} />{' '}
        <span class="muted">a seeded sample of the space's ~16,000 block keys; empty: all of them</span>
      </div>
      <span>hardware profiles</span>
      <div class="checks">
        {profiles.length === 0 && <span class="muted">no device has registered a profile yet</span>}
        {profiles.map((p) => (
          <label key={p}>
            <input type="checkbox" name="profile" value={p} checked={chosenProfiles.includes(p)} onChange={() => setChosenProfiles(toggle(chosenProfiles, p))} />
            {p}
          </label>
        ))}
      </div>
      <label for="c-devices">devices</label>
      <select
        id="c-devices"
        name="devices"
        multiple
        size={Math.min(6, Math.max(2, devices.data?.length ?? 2))}
        onChange={(e) => setChosenDevices([...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value))}
      >
        {(devices.data ?? []).map((d) => (
          <option key={d.id} value={d.id} selected={chosenDevices.includes(d.id)}>
            {d.id} ({d.status}, {d.hardwareProfile ?? 'unknown'})
          </option>
        ))}
      </select>
      <span>runtimes</span>
      <div class="checks">
        {['onnxruntime', 'tfjs'].map((r) => (
          <label key={r}>
            <input type="checkbox" name="runtime" value={r} checked={runtimes.includes(r)} onChange={() => setRuntimes(toggle(runtimes, r))} />
            {r}
          </label>
        ))}
      </div>
      <label for="c-threads">threads</label>
      <div>
        <input id="c-threads" name="threads" placeholder="e.g. 1, 4" value={threads} onInput={(e) => setThreads((e.target as HTMLInputElement).value)} />{' '}
        <span class="muted">empty: each device's own</span>
      </div>
      <span>measurement</span>
      <OptionalNumbers fields={SETTINGS} values={settings} onChange={setSettings} />
      <div class="full toolbar">
        <button class="primary" type="submit" disabled={busy || runtimes.length === 0}>
          Start campaign
        </button>
        <button type="button" onClick={onCancel}>
          Close
        </button>
      </div>
      {error && (
        <div class="full">
          <ErrorBox error={error} what="" />
        </div>
      )}
    </form>
  )
}

export function CampaignsPage({ session, creating }: { session: Session; creating: boolean }) {
  const campaigns = useAsync((signal) => (session.canRead ? getJson<CampaignView[]>('/v1/campaigns', { signal }) : Promise.resolve([])), [session.canRead])
  const live = useLive(session.canRead ? '?devices=false' : null, {
    campaign: (c) =>
      campaigns.setData((list) => upsertById(list, c)),
  })
  if (!session.canRead)
    return (
      <>
        <h1>Campaigns</h1>
        <NeedsLogin what="and start campaigns" />
      </>
    )
  const list = [...(campaigns.data ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  return (
    <div data-ready={campaigns.data ? 'campaigns' : undefined}>
      <h1>
        Campaigns <LiveBadge status={live} />
        {!creating && (
          <button class="primary" onClick={() => navigate('#/campaigns/new')}>
            New campaign
          </button>
        )}
      </h1>
      {creating && <NewCampaign onCancel={() => navigate('#/campaigns')} />}
      {campaigns.error && <ErrorBox error={campaigns.error} what="the campaigns" />}
      {!campaigns.data && !campaigns.error && <Loading what="the campaigns" />}
      {campaigns.data && list.length === 0 && <p class="muted">No campaign yet.</p>}
      {list.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>campaign</th>
              <th>state</th>
              <th style={{ width: '28%' }}>progress (blocks)</th>
              <th class="num">blocks</th>
              <th class="num">executions</th>
              <th>runtimes</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id} class="clickable" onClick={() => navigate(href('campaigns', c.id))}>
                <td>
                  <a href={href('campaigns', c.id)}>{c.name}</a> <span class="muted mono">{c.id}</span>
                </td>
                <td>
                  <State state={c.state} />
                </td>
                <td>
                  <Progress done={c.progress.succeeded} total={c.progress.total} failed={c.progress.failed} />
                </td>
                <td class="num">{c.blocks.toLocaleString('en')}</td>
                <td class="num">{c.executions.length}</td>
                <td>{c.runtimes.join(', ')}</td>
                <td>{when(c.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
