/**
 * Fleet: every device with its live status (pushed by /v1/events), hardware profile, runtimes,
 * threads, CPU, temperature and throttling from its latest measurement (at registration until it
 * has measured) and last contact. Without a token: the open counts from /metrics only.
 */
import { useMemo, useState } from 'preact/hooks'
import { getJson, request } from '../api.ts'
import type { Session } from '../app.tsx'
import { ago, when } from '../format.ts'
import { upsertById, useLive } from '../live.ts'
import { href } from '../router.ts'
import type { DeviceView } from '../types.ts'
import { ErrorBox, LiveBadge, Loading, NeedsLogin, Status, useAsync } from '../ui.tsx'

/** `name{labels} value` lines of the Prometheus text the controller serves openly. */
export function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2]
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

function OpenOverview() {
  const metrics = useAsync(async (signal) => parseMetrics(await (await request('/metrics', { signal, token: null })).text()), [])
  if (metrics.error) return <ErrorBox error={metrics.error} what="the open metrics" />
  if (!metrics.data) return <Loading what="the open metrics" />
  const one = (name: string) => metrics.data!.find((m) => m.name === name)?.value ?? 0
  const campaigns = metrics.data.filter((m) => m.name === 'fleetnas_campaigns')
  return (
    <div data-ready="fleet">
      <div class="stats">
        <Stat k="devices online" v={one('fleetnas_devices_online')} />
        <Stat k="devices known" v={one('fleetnas_devices_known')} />
        <Stat k="measurements stored" v={one('fleetnas_measurements_stored')} />
        {campaigns.map((c) => (
          <Stat key={c.labels.state} k={`campaigns ${c.labels.state ?? ''}`} v={c.value} />
        ))}
      </div>
      <NeedsLogin what="each device, start campaigns and open the LUTs" />
    </div>
  )
}

/** Temperature and throttling around the device's latest measurement; the registration reading before it has measured. */
export function Temperature({ d }: { d: DeviceView }) {
  const env = d.environment
  if (env?.temperatureC !== undefined)
    return (
      <span class={env.temperatureC >= 80 ? 'temp-hot' : ''} title={`measured ${when(env.measuredAt)}${env.frequencyMHz !== undefined ? `, ${env.frequencyMHz} MHz` : ''}`}>
        {env.temperatureC.toFixed(0)} °C
      </span>
    )
  if (d.inventory?.temperatureC !== undefined) return <span title="at registration (no measurement reported one yet)">{d.inventory.temperatureC.toFixed(0)} °C*</span>
  return <>–</>
}

export function Throttled({ d }: { d: DeviceView }) {
  const throttled = d.environment?.throttled
  if (throttled === undefined) return <span class="muted">–</span>
  return throttled ? (
    <span class="flag" title={`throttled around the measurement of ${when(d.environment!.measuredAt)}`}>
      throttled
    </span>
  ) : (
    <span class="muted">no</span>
  )
}

function Stat({ k, v }: { k: string; v: number | string }) {
  return (
    <div class="stat">
      <div class="v">{typeof v === 'number' ? v.toLocaleString('en') : v}</div>
      <div class="k">{k}</div>
    </div>
  )
}

export function FleetPage({ session }: { session: Session }) {
  const devices = useAsync((signal) => (session.canRead ? getJson<DeviceView[]>('/v1/devices', { signal }) : Promise.resolve([])), [session.canRead])
  const live = useLive(session.canRead ? '?campaigns=false' : null, {
    device: (d) =>
      devices.setData((list) => upsertById(list, d)),
  })
  const [filter, setFilter] = useState('')
  const [status, setStatus] = useState('all')
  const list = devices.data ?? []
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase()
    return list
      .filter((d) => (status === 'all' || d.status === status) && (!f || d.id.toLowerCase().includes(f) || (d.hardwareProfile ?? '').includes(f)))
      .sort((a, b) => (a.status === b.status ? a.id.localeCompare(b.id) : a.status === 'online' ? -1 : 1))
  }, [list, filter, status])

  if (!session.canRead)
    return (
      <>
        <h1>Fleet</h1>
        <OpenOverview />
      </>
    )
  if (devices.error) return <ErrorBox error={devices.error} what="the devices" />
  if (!devices.data) return <Loading what="the devices" />

  const online = list.filter((d) => d.status === 'online').length
  const profiles = new Map<string, number>()
  for (const d of list) profiles.set(d.hardwareProfile ?? 'unknown', (profiles.get(d.hardwareProfile ?? 'unknown') ?? 0) + 1)
  const now = Date.now()
  return (
    <div data-ready="fleet">
      <h1>
        Fleet <LiveBadge status={live} />
      </h1>
      <div class="stats">
        <Stat k="devices online" v={`${online} / ${list.length}`} />
        {[...profiles].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([p, n]) => (
          <Stat key={p} k={p} v={n} />
        ))}
      </div>
      {list.length === 0 ? (
        <div class="notice">
          No device has registered yet. Start an agent: <code>npx fleetnas agent start --broker mqtt://HOST:1883 --device-id NAME</code>, or
          see <code>deploy/README.md</code>.
        </div>
      ) : (
        <>
          <div class="toolbar">
            <input type="search" placeholder="filter by id or profile" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
            <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)} aria-label="status">
              <option value="all">all</option>
              <option value="online">online</option>
              <option value="offline">offline</option>
            </select>
            <span class="muted">{shown.length.toLocaleString('en')} shown</span>
          </div>
          <table class="devices">
            <thead>
              <tr>
                <th>device</th>
                <th>status</th>
                <th>hardware profile</th>
                <th>runtimes</th>
                <th class="num">threads</th>
                <th>CPU</th>
                <th class="num" title="around the latest measurement (*: at registration)">temp.</th>
                <th>throttled</th>
                <th>last seen</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((d) => (
                <tr key={d.id} data-device={d.id}>
                  <td>
                    <a href={href('devices', d.id)}>{d.id}</a>
                  </td>
                  <td>
                    <Status status={d.status} />
                  </td>
                  <td>{d.hardwareProfile ?? <span class="muted">unknown</span>}</td>
                  <td>
                    {d.runtimes.map((r) => (
                      <span class="pill" key={r.name} title={r.backends.join(', ')}>
                        {r.name} {r.version}
                      </span>
                    ))}
                  </td>
                  <td class="num">{d.threads ?? '–'}</td>
                  <td>{d.inventory ? `${d.inventory.cpuModel} (${d.inventory.cores} cores)` : '–'}</td>
                  <td class="num temperature">
                    <Temperature d={d} />
                  </td>
                  <td class="throttled">
                    <Throttled d={d} />
                  </td>
                  <td title={d.lastSeen ?? ''}>{ago(d.lastSeen, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  )
}
