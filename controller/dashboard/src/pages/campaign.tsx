/**
 * One campaign: overall and per-execution progress and state, updated as the controller pushes
 * them (/v1/events?campaign=ID); cancel while it runs.
 */
import { getJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { when } from '../format.ts'
import { useLive } from '../live.ts'
import { href } from '../router.ts'
import { FINISHED_CAMPAIGN, type CampaignView } from '../types.ts'
import { ErrorBox, Facts, LiveBadge, Loading, NeedsLogin, Progress, State, useAsync, useCancel } from '../ui.tsx'

export function CampaignPage({ id, session }: { id: string; session: Session }) {
  const campaign = useAsync((signal) => getJson<CampaignView>(`/v1/campaigns/${encodeURIComponent(id)}`, { signal }), [id])
  const live = useLive(session.canRead ? `?devices=false&campaign=${encodeURIComponent(id)}` : null, {
    campaign: (c) => c.id === id && campaign.setData(() => c),
  })
  const canceling = useCancel(
    `/v1/campaigns/${encodeURIComponent(id)}/cancel`,
    () => `Cancel campaign ${campaign.data?.name ?? id}? Its devices are told to stop; stored measurements stay.`,
    campaign,
  )

  if (!session.canRead) return <NeedsLogin what={`campaign ${id}`} />
  if (campaign.error) return <ErrorBox error={campaign.error} what={`campaign ${id}`} />
  if (!campaign.data) return <Loading what={`campaign ${id}`} />
  const c = campaign.data
  const finished = FINISHED_CAMPAIGN.has(c.state)
  const percent = c.progress.total > 0 ? Math.floor((100 * c.progress.succeeded) / c.progress.total) : 0

  return (
    <div data-ready="campaign">
      <h1>
        {c.name} <State state={c.state} /> <LiveBadge status={live} />
        {!finished && (
          <button class="danger" onClick={canceling.cancel} disabled={canceling.busy}>
            Cancel campaign
          </button>
        )}
      </h1>
      {canceling.error && <ErrorBox error={canceling.error} what="" />}
      <div class="card">
        <div class="toolbar">
          <strong class="campaign-percent" data-percent={percent}>
            {percent}%
          </strong>
          <span class="muted">
            {c.progress.succeeded.toLocaleString('en')} of {c.progress.total.toLocaleString('en')} block measurements stored
            {c.progress.failed > 0 && `, ${c.progress.failed.toLocaleString('en')} failed`}
          </span>
        </div>
        <Progress done={c.progress.succeeded} total={c.progress.total} failed={c.progress.failed} />
      </div>
      <div class="row">
        <div class="card">
          <Facts
            rows={[
              ['id', <span class="mono">{c.id}</span>],
              ['blocks', c.blocks.toLocaleString('en')],
              ['runtimes', c.runtimes.join(', ')],
              ['targets', [...(c.targets.devices ?? []).map((d) => `device ${d}`), ...(c.targets.hardwareProfiles ?? []).map((p) => `profile ${p}`)].join(', ')],
              ['created', when(c.createdAt)],
              ['updated', when(c.updatedAt)],
            ]}
          />
        </div>
        <div class="card">
          <Facts
            rows={[
              ['execution timeout', `${(c.executionTimeoutMs / 1000).toFixed(0)} s`],
              ['max. retries', c.maxRetries],
              ['settings', Object.entries(c.settings).map(([k, v]) => `${k} ${v}`).join(', ')],
            ]}
          />
        </div>
      </div>
      <h2>Executions</h2>
      <table class="executions">
        <thead>
          <tr>
            <th>device</th>
            <th>runtime</th>
            <th class="num">threads</th>
            <th>state</th>
            <th style={{ width: '28%' }}>blocks</th>
            <th class="num">attempts</th>
            <th>started</th>
            <th>finished</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {c.executions.map((e) => (
            <tr key={e.id} data-execution={e.id}>
              <td>
                <a href={href('devices', e.deviceId)}>{e.deviceId}</a>
              </td>
              <td>{e.runtime}</td>
              <td class="num">{e.threads}</td>
              <td>
                <State state={e.state} />
              </td>
              <td>
                <Progress done={e.done} total={e.total} />
              </td>
              <td class="num">{e.attempts}</td>
              <td>{when(e.startedAt)}</td>
              <td>{when(e.finishedAt)}</td>
              <td class="muted">{e.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
