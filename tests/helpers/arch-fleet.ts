/**
 * A fleet for architecture-request tests: a controller with a tiny supernet, the test agent of one
 * device class answering over MQTT with a synthetic device's latencies, and a LUT with a fitted
 * latency model (14 calibration architectures measured whole). `budget` is a latency the LUT's
 * measured architectures straddle.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isHead } from '@fleetnas/shared'
import { startController, type RunningController as Controller } from '../../controller/src/index.ts'
import { api, silentLogger, waitFor } from '../../controller/src/testing/harness.ts'
import { startFakeAgent } from '../../controller/src/testing/fake-agent.ts'
import { syntheticDevice } from '../../controller/src/testing/synthetic-device.ts'
import { tinySupernet } from './supernet.ts'

export const archDevice = syntheticDevice({ callMs: 0.005, minBlockMs: 0.005, stepMs: 1 / 20000, inGraph: (b) => (isHead(b) ? 1 : 0.9) })

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface ArchFleet {
  dir: string
  supernet: string
  config: NonNullable<Parameters<typeof startController>[0]> & { dataDir: string }
  ctl: Controller
  budget: number
  /** Stops the controller and starts it again on the same data (the agent reconnects). */
  restart(): Promise<Controller>
}

export async function startArchFleet(t: Teardown): Promise<ArchFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-arch-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const supernet = join(dir, 'supernet.ckpt')
  await tinySupernet(supernet)
  const config = {
    dataDir: join(dir, 'data'),
    httpPort: 0,
    mqttPort: 0,
    insecure: true,
    supernet,
    accuracyEstimation: { predictorSamples: 10, predictorTasks: 2 },
  }
  const fleet = { dir, supernet, config } as ArchFleet
  fleet.ctl = await startController(config, { logger: silentLogger() })
  t.teardown(() => fleet.ctl.stop())
  const agent = await startFakeAgent({ url: fleet.ctl.mqttUrl, deviceId: 'box-1', hardwareProfile: 'box', latencyMs: archDevice.latencyMs, overheadMs: archDevice.callMs, batchSize: 100 })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => fleet.ctl.store.devices.get('box-1')?.hardwareProfile)
  const calib = await api(fleet.ctl, 'POST', '/v1/campaigns', { name: 'calib', calibration: { count: 14 }, targets: { devices: ['box-1'] } })
  await waitFor('calibration done', async () => (await api(fleet.ctl, 'GET', `/v1/campaigns/${calib.json.id}`)).json.state === 'SUCCEEDED')
  const model = (await api(fleet.ctl, 'GET', '/v1/luts/box/model')).json.model
  fleet.budget = [...model.points.map((p: { measuredMs: number }) => p.measuredMs)].sort((a, b) => a - b)[7]
  fleet.restart = async () => {
    await fleet.ctl.stop()
    fleet.ctl = await startController(config, { logger: silentLogger() })
    return fleet.ctl
  }
  return fleet
}

/** Polls a request until `until` holds for it (default: it has ended), and returns it. */
export async function waitForRequest(ctl: Controller, id: string, until: (r: { state: string }) => boolean = (r) => ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(r.state), timeoutMs = 180_000) {
  return waitFor(`request ${id}`, async () => {
    const r = (await api(ctl, 'GET', `/v1/architectures/${id}`)).json
    return until(r) ? r : undefined
  }, timeoutMs)
}
