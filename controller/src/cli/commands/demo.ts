/**
 * `fleetnas demo`: the whole profiling loop on this machine with nothing to configure. Starts a
 * controller (embedded broker, free ports, temporary data dir, a generated API token), one local agent process,
 * runs a small campaign (a sample of the space's blocks, a calibration set of architectures measured
 * whole with their blocks, and the Conv4 family's blocks), prints the LUT summary and its latency
 * model's fit report, predicts the Conv4 family's latency and only then measures it whole, prints
 * both side by side, then serves until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { architectureBlocks, architectureId, conv4Family, defineError, isFleetnasError, PollInterrupted, pollUntil, PollTimedOut, type Architecture } from '@fleetnas/shared'
import { locateAgent } from '../agent-package.ts'
import { ApiClient } from '../api-client.ts'
import type { DeviceView, LutView } from '../api-types.ts'
import { describeCampaign, watchCampaign } from './campaign.ts'
import { summarizeLut } from './lut.ts'
import { describeModel, type ModelView, type PredictionView } from './latency.ts'
import { ms, table } from '../format.ts'

const DemoFailed = defineError('FLEETNAS_ERR_DEMO_FAILED', 500, (why: string) => `demo failed: ${why}`)

export interface DemoOptions {
  blocks: number
  /** Architectures measured whole to fit the latency model. */
  calibration: number
  threads: number
  httpPort: number
  dataDir?: string
  /** Exit after the summary instead of serving until Ctrl-C (scripts, tests). */
  exit: boolean
  seed: number
  log: (line: string) => void
}

/** The manual baseline at three widths: what the demo predicts, then measures. */

const signedPct = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`

/** pollUntil with the demo's own error, so a failure reads "demo failed: timed out ..." / "... interrupted ...". */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, signal?: AbortSignal): Promise<T> {
  try {
    return await pollUntil(probe, { what, everyMs: 200, timeoutMs, signal })
  } catch (e) {
    if (isFleetnasError(e, PollTimedOut.code)) throw DemoFailed(`timed out after ${timeoutMs / 1000}s waiting for ${what}`)
    if (isFleetnasError(e, PollInterrupted.code)) throw DemoFailed(e.message) // "interrupted while waiting for ..."
    throw e
  }
}

function startAgentProcess(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } })
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(force)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const agentBin = locateAgent('`fleetnas demo`').bin // before anything starts: without an agent there is no demo
  const { startController } = await import('../../index.ts')
  const ownDir = o.dataDir === undefined
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'fleetnas-demo-')))
  const interrupted = new AbortController()
  const onSignal = () => interrupted.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  o.log(`fleetnas demo: data in ${dataDir}`)
  const controller = await startController({ dataDir, httpPort: o.httpPort, mqttPort: 0, apiToken: randomBytes(18).toString('base64url'), logLevel: 'warn' })
  const api = new ApiClient({ api: controller.httpUrl, token: controller.apiToken })
  const dashboardLink = async () => (await api.post<{ url: string }>('/v1/dashboard/login-links')).url
  const deviceId = `demo-${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 100)
  let agent: ChildProcess | undefined
  try {
    o.log(`controller up: API ${controller.httpUrl} (docs ${controller.httpUrl}/docs), MQTT ${controller.mqttUrl}`)
    o.log(`dashboard: ${controller.httpUrl}/  watch it live; one-time login link (15 min): ${await dashboardLink()}`)
    const { secret } = await api.post<{ secret: string }>(`/v1/devices/${encodeURIComponent(deviceId)}/credentials`)
    agent = startAgentProcess(agentBin, [
      '--broker', controller.mqttUrl,
      '--state-dir', join(dataDir, 'agent'),
      '--device-id', deviceId,
      '--username', deviceId,
      '--threads', String(o.threads),
      '--log-level', 'warn',
    ], { FLEETNAS_PASSWORD: secret })
    const device = await waitFor('the local agent to come online', 60_000, async () => {
      const devices = await api.get<DeviceView[] | { items: DeviceView[] }>('/v1/devices')
      const list = Array.isArray(devices) ? devices : devices.items
      return list.find((d) => d.id === deviceId && d.status === 'online')
    }, interrupted.signal)
    o.log(`agent ${device.id} online: hardware profile ${device.hardwareProfile}, ${device.inventory?.cpuModel ?? 'unknown CPU'}`)

    const family = conv4Family()
    const campaign = async (name: string, what: Record<string, unknown>, label: string) => {
      const { id } = await api.post<{ id: string }>('/v1/campaigns', { name, ...what, targets: { devices: [deviceId] }, runtimes: ['onnxruntime'], threads: [o.threads] })
      o.log(`campaign ${id}: ${label}`)
      const done = await watchCampaign(api, id, { signal: interrupted.signal, bar: true })
      if (done.state !== 'SUCCEEDED') throw DemoFailed(`campaign ended ${done.state}\n${describeCampaign(done)}`)
    }
    await campaign(
      'demo',
      { searchSpace: 'default', sample: o.blocks, calibration: { count: o.calibration, seed: o.seed }, blocks: family.flatMap((a) => architectureBlocks(a)) },
      `${o.blocks} blocks of the default search space, ${o.calibration} architectures measured whole with their blocks, the blocks of Conv4 at widths 64/32/16; onnxruntime, ${o.threads} thread(s)`,
    )

    const profile = device.hardwareProfile ?? 'generic'
    const q = new URLSearchParams({ runtime: 'onnxruntime', threads: String(o.threads) })
    const lut = await api.get<LutView>(`/v1/luts/${encodeURIComponent(profile)}?${q}`)
    o.log('')
    o.log(summarizeLut(lut))
    const model = await api.get<ModelView>(`/v1/luts/${encodeURIComponent(profile)}/model?${q}`)
    o.log(describeModel(model))

    // Predicted first, measured after: the numbers a newcomer compares were not fitted on each other.
    const ids = family.map(architectureId)
    const { predictions } = await api.post<{ predictions: PredictionView[] }>(`/v1/luts/${encodeURIComponent(profile)}/predict`, {
      runtime: 'onnxruntime',
      threads: o.threads,
      architectures: ids,
    })
    o.log('')
    await campaign('demo-check', { architectures: ids, architectureBlocks: false }, 'Conv4 at widths 64/32/16, measured whole after their latency was predicted')
    const measured = await api.post<{ predictions: PredictionView[] }>(`/v1/luts/${encodeURIComponent(profile)}/predict`, {
      runtime: 'onnxruntime',
      threads: o.threads,
      architectures: ids,
    })
    const rows = predictions.map((p, i) => {
      const m = measured.predictions[i].measuredMs
      return [
        p.id,
        ms(p.predictedMs),
        p.lowMs === null || p.highMs === null ? '-' : `${ms(p.lowMs)}..${ms(p.highMs)}`,
        ms(m),
        m && p.predictedMs ? signedPct(p.predictedMs / m - 1) : '-',
        ms(p.blockSumMs === null ? null : p.blockSumMs + p.callOverheadMs),
      ]
    })
    o.log('')
    o.log(`predicted (before measuring) vs measured end-to-end latency, one call, ${o.threads} thread(s):`)
    o.log(table(['ARCHITECTURE', 'PREDICTED MS', '95% INTERVAL', 'MEASURED MS', 'ERROR', 'BARE SUM'], rows))
    o.log('')
    o.log(`API: ${controller.httpUrl}  (docs: ${controller.httpUrl}/docs)`)
    o.log(`dashboard: ${controller.httpUrl}/  one-time login link: ${await dashboardLink()}`)
    o.log(`export FLEETNAS_API_TOKEN=${controller.apiToken}   # the API token, for the commands below`)
    o.log(`try: npx fleetnas lut show ${profile} --threads ${o.threads} --api ${controller.httpUrl}`)
    o.log(`     npx fleetnas latency predict ${ids[0]} --profile ${profile} --threads ${o.threads} --api ${controller.httpUrl}`)
    if (!o.exit && !interrupted.signal.aborted) {
      o.log('serving; press Ctrl-C to stop')
      await new Promise<void>((resolve) => interrupted.signal.addEventListener('abort', () => resolve(), { once: true }))
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (agent) await stopProcess(agent)
    await controller.stop()
    if (ownDir) await rm(dataDir, { recursive: true, force: true })
    o.log('demo stopped')
  }
}
