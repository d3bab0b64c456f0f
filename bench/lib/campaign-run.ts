/**
 * Runs one campaign to its end through the HTTP API, reporting progress (blocks stored, rate,
 * ETA, load) and watching the agent process: it fails fast if the agent dies.
 */
import os from 'node:os'
import type { RuntimeName } from '@fleetnas/shared'
import type { ApiClient } from '../../controller/src/cli/api-client.ts'
import { TERMINAL_CAMPAIGN_STATES, type CampaignView } from '../../controller/src/cli/api-types.ts'
import type { AgentProcess } from './fleet.ts'
import { cpuSeconds, rssMB } from './proc-usage.ts'
import type { ProgressLine } from './progress-line.ts'

export interface CampaignRequest {
  name: string
  deviceId: string
  threads: number
  /** The runtime to measure with (default onnxruntime). */
  runtime?: RuntimeName
  sample?: number
  seed?: number
  /** What to measure instead of the default space (blocks, architectures, calibration, ...). */
  body?: Record<string, unknown>
}

export interface CampaignRun {
  id: string
  state: string
  blocks: number
  wallMs: number
  /** Agent CPU over the run as % of one core, and its largest RSS seen (MB). */
  agentCpuPercent: number
  agentPeakRssMB: number
  /** Measurement settings as the controller stored them for the campaign. */
  settings: Record<string, number>
  reason?: string
}

const POLL_MS = 1000

const fmtDuration = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : '?')

export async function runCampaign(api: ApiClient, agent: AgentProcess, req: CampaignRequest, progress: ProgressLine, timeoutMs: number): Promise<CampaignRun> {
  const body: Record<string, unknown> = {
    name: req.name,
    ...(req.body ?? { searchSpace: 'default' }),
    targets: { devices: [req.deviceId] },
    runtimes: [req.runtime ?? 'onnxruntime'],
    threads: [req.threads],
  }
  if (req.sample !== undefined) body.sample = req.sample
  if (req.seed !== undefined) body.seed = req.seed
  const cpu0 = await cpuSeconds(agent.pid)
  const t0 = performance.now()
  const { id } = await api.post<{ id: string }>('/v1/campaigns', body)
  let peakRss = 0
  let view: CampaignView & { settings?: Record<string, number> }
  for (;;) {
    if (agent.exited()) throw new Error(`the agent exited during campaign ${req.name}:\n${agent.output()}`)
    view = await api.get<CampaignView & { settings?: Record<string, number> }>(`/v1/campaigns/${id}`)
    peakRss = Math.max(peakRss, await rssMB(agent.pid))
    const elapsedS = (performance.now() - t0) / 1000
    const { total, succeeded } = view.progress
    const perMin = elapsedS > 0 ? (succeeded / elapsedS) * 60 : 0
    const etaS = perMin > 0 ? ((total - succeeded) / perMin) * 60 : Infinity
    progress.update(
      `${req.name}: ${succeeded}/${total} targets (${((100 * succeeded) / Math.max(1, total)).toFixed(1)}%)  ` +
        `${perMin.toFixed(0)}/min  elapsed ${fmtDuration(elapsedS)}  eta ${fmtDuration(etaS)}  ` +
        `load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}  ${view.state}`,
    )
    if (TERMINAL_CAMPAIGN_STATES.has(view.state)) break
    if (elapsedS * 1000 > timeoutMs) throw new Error(`campaign ${req.name} not finished after ${timeoutMs} ms (${succeeded}/${total} blocks)`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  const wallMs = performance.now() - t0
  progress.done()
  const cpu1 = await cpuSeconds(agent.pid)
  const reason = view.executions.map((e) => e.reason).filter(Boolean).join('; ')
  return {
    id,
    state: view.state,
    blocks: view.progress.succeeded,
    wallMs,
    agentCpuPercent: (100 * (cpu1 - cpu0)) / (wallMs / 1000),
    agentPeakRssMB: peakRss,
    settings: view.settings ?? {},
    ...(reason ? { reason } : {}),
  }
}
