/** One device: its inventory, runtimes, live status, and the campaigns it served (its executions). */
import { getJson } from '../api.ts'
import type { Session } from '../app.tsx'
import { ago, bytes, when } from '../format.ts'
import { useLive } from '../live.ts'
import { href } from '../router.ts'
import type { CampaignView, DeviceView } from '../types.ts'
import { ErrorBox, Facts, LiveBadge, Loading, NeedsLogin, Progress, State, Status, useAsync } from '../ui.tsx'

export function DevicePage({ id, session }: { id: string; session: Session }) {
  const device = useAsync((signal) => getJson<DeviceView>(`/v1/devices/${encodeURIComponent(id)}`, { signal }), [id])
  const campaigns = useAsync((signal) => getJson<CampaignView[]>('/v1/campaigns', { signal }), [id])
  const live = useLive(session.canRead ? '' : null, {
    device: (d) => d.id === id && device.setData(() => d),
    campaign: (c) => campaigns.setData((list) => (list ? list.map((x) => (x.id === c.id ? c : x)) : list)),
  })
  if (!session.canRead) return <NeedsLogin what={`device ${id}`} />
  if (device.error) return <ErrorBox error={device.error} what={`device ${id}`} />
  if (!device.data) return <Loading what={`device ${id}`} />
  const d = device.data
  const inv = d.inventory
  const served = (campaigns.data ?? []).filter((c) => c.executions.some((e) => e.deviceId === id))
  return (
    <div data-ready="device">
      <h1>
        {d.id} <Status status={d.status} /> <LiveBadge status={live} />
      </h1>
      <div class="row">
        <div class="card">
          <h2>Device</h2>
          <Facts
            rows={[
              ['hardware profile', d.hardwareProfile],
              ['threads', d.threads],
              ['agent', d.agentVersion],
              ['last seen', `${ago(d.lastSeen)} (${when(d.lastSeen)})`],
              [
                'latest measurement',
                d.environment
                  ? [
                      d.environment.temperatureC !== undefined ? `${d.environment.temperatureC.toFixed(1)} °C` : 'no temperature',
                      d.environment.frequencyMHz !== undefined ? `${d.environment.frequencyMHz} MHz` : undefined,
                      d.environment.throttled === undefined ? undefined : d.environment.throttled ? 'throttled' : 'not throttled',
                      `(${ago(d.environment.measuredAt)})`,
                    ]
                      .filter(Boolean)
                      .join(', ')
                  : 'no sensor reading yet',
              ],
            ]}
          />
        </div>
        <div class="card">
          <h2>Inventory</h2>
          {inv ? (
            <Facts
              rows={[
                ['model', inv.model || '–'],
                ['CPU', `${inv.cpuModel} (${inv.cpuVendor})`],
                ['cores', `${inv.cores} (${inv.physicalCores} physical)`],
                ['max frequency', inv.maxFrequencyMHz ? `${inv.maxFrequencyMHz} MHz` : '–'],
                ['memory', bytes(inv.memoryBytes)],
                ['OS', `${inv.os} (${inv.arch})`],
                ['hostname', inv.hostname],
                ['GPUs', inv.gpus.length ? inv.gpus.join(', ') : 'none'],
                ['temperature', inv.temperatureC !== undefined ? `${inv.temperatureC.toFixed(1)} °C at registration` : 'not reported'],
              ]}
            />
          ) : (
            <p class="muted">The agent has not sent its inventory yet.</p>
          )}
        </div>
        <div class="card">
          <h2>Runtimes</h2>
          <table>
            <thead>
              <tr>
                <th>runtime</th>
                <th>version</th>
                <th>backends</th>
              </tr>
            </thead>
            <tbody>
              {d.runtimes.map((r) => (
                <tr key={r.name}>
                  <td>{r.name}</td>
                  <td>{r.version}</td>
                  <td>{r.backends.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <h2>Campaigns it served</h2>
      {campaigns.error && <ErrorBox error={campaigns.error} what="the campaigns" />}
      {campaigns.data && served.length === 0 && <p class="muted">None yet.</p>}
      {served.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>campaign</th>
              <th>runtime</th>
              <th class="num">threads</th>
              <th>execution</th>
              <th>blocks</th>
              <th>started</th>
            </tr>
          </thead>
          <tbody>
            {served.flatMap((c) =>
              c.executions
                .filter((e) => e.deviceId === id)
                .map((e) => (
                  <tr key={e.id}>
                    <td>
                      <a href={href('campaigns', c.id)}>{c.name}</a> <span class="muted mono">{c.id}</span>
                    </td>
                    <td>{e.runtime}</td>
                    <td class="num">{e.threads}</td>
                    <td>
                      <State state={e.state} />
                    </td>
                    <td>
                      <Progress done={e.done} total={e.total} />
                    </td>
                    <td>{when(e.startedAt)}</td>
                  </tr>
                )),
            )}
          </tbody>
        </table>
      )}
    </div>
  )
}
