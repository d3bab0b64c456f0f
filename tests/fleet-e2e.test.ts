/**
 * End to end on real parts: a controller with its embedded aedes broker and SQLite store, two
 * agent processes measuring with ONNX Runtime at different thread counts, a campaign of 24 blocks
 * to SUCCEEDED, two LUTs with sane rows; then a large campaign canceled while it runs.
 */
import t from 'tap'
import { blockKey, isHead, parseBlockKey } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import type { LutView } from '../controller/src/cli/api-types.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'

const BLOCKS = 24
const FAST = { warmupRuns: 2, minRuns: 6, minTimeMs: 5, maxCv: 0.5 }

t.test('two agents, one campaign, two LUTs; cancel stops a running campaign', async (t) => {
  const dir = await tempDir()
  t.teardown(dir.remove)
  const controller = await startController({ dataDir: dir.path, httpPort: 0, mqttPort: 0, insecure: true, logLevel: 'warn' })
  t.teardown(() => controller.stop())
  const api = new ApiClient({ api: controller.httpUrl })

  const agents = [1, 2].map((threads) =>
    spawnAgent([
      '--broker', controller.mqttUrl,
      '--state-dir', `${dir.path}/agent-t${threads}`,
      '--device-id', `e2e-t${threads}`,
      '--threads', String(threads),
      '--hardware-profile', 'x86-64',
      '--log-level', 'warn',
    ]),
  )
  t.teardown(() => Promise.all(agents.map((a) => a.stop())))
  const online = await waitOnline(api, ['e2e-t1', 'e2e-t2'])
  t.same(online.map((d) => d.hardwareProfile), ['x86-64', 'x86-64'], 'both devices registered with their profile')

  const { id } = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'e2e',
    searchSpace: 'default',
    sample: BLOCKS,
    targets: { hardwareProfiles: ['x86-64'] },
    runtimes: ['onnxruntime'],
    settings: FAST,
  })
  const done = await waitCampaign(api, id, (c) => ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(c.state), 'campaign to finish')
  t.equal(done.state, 'SUCCEEDED', `campaign succeeded\n${agents.map((a) => a.output()).join('\n')}`)
  t.equal(done.executions.length, 2, 'one execution per device')
  t.same(done.progress, { total: 2 * BLOCKS, succeeded: 2 * BLOCKS, failed: 0 })

  const luts = await api.get<{ hardwareProfile: string; runtime: string; threads: number; entries: number }[]>('/v1/luts')
  const ours = luts.filter((l) => l.hardwareProfile === 'x86-64' && l.runtime === 'onnxruntime')
  t.same(ours.map((l) => l.threads).sort(), [1, 2], 'one LUT per thread count')
  const keysPerLut: string[][] = []
  for (const threads of [1, 2]) {
    const lut = await api.get<LutView>(`/v1/luts/x86-64?runtime=onnxruntime&threads=${threads}`)
    t.equal(lut.entries.length, BLOCKS, `LUT at ${threads} thread(s) holds every block`)
    for (const e of lut.entries) {
      t.equal(blockKey(parseBlockKey(e.key)), e.key, 'canonical key')
      // Overhead-subtracted medians of tiny blocks can reach 0 on a loaded machine; never negative.
      t.ok(e.medianMs >= 0 && e.medianMs < 1000, `${e.key}: median ${e.medianMs} ms is plausible`)
      // Not p10 <= median <= p90: the median is of round medians, p10 and p90 over pooled samples, and
      // under load a fast round holds most samples, so the median can fall outside them.
      t.ok(e.p10Ms <= e.p90Ms, `${e.key}: p10 <= p90`)
      t.ok(e.cv >= 0 && Number.isFinite(e.cv), `${e.key}: cv ${e.cv}`)
      t.ok(e.samples >= FAST.minRuns, `${e.key}: at least minRuns samples`)
      t.equal(e.devices, 1)
    }
    keysPerLut.push(lut.entries.map((e) => e.key).sort())
    // A big conv block must cost more than a head: the numbers mean something.
    const heads = lut.entries.filter((e) => isHead(parseBlockKey(e.key)))
    const convs = lut.entries.filter((e) => !isHead(parseBlockKey(e.key)))
    if (heads.length && convs.length)
      t.ok(Math.max(...convs.map((e) => e.medianMs)) > Math.min(...heads.map((e) => e.medianMs)), 'largest layer block slower than smallest head')
  }
  t.same(keysPerLut[0], keysPerLut[1], 'both LUTs cover the same blocks')

  const csv = await api.requestText('GET', '/v1/luts/x86-64?runtime=onnxruntime&threads=1&format=csv')
  t.equal(csv.trim().split('\n').length, BLOCKS + 1, 'CSV: header and one row per block')

  // Cancel: a campaign over the whole space cannot finish in time; cancel it once it runs.
  const big = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'to-cancel',
    searchSpace: 'default',
    targets: { devices: ['e2e-t1'] },
    settings: { ...FAST, minTimeMs: 50 },
  })
  await waitCampaign(api, big.id, (c) => c.progress.succeeded > 0, 'the big campaign to make progress', 120_000)
  await api.post(`/v1/campaigns/${big.id}/cancel`)
  const canceled = await waitCampaign(api, big.id, (c) => c.state === 'CANCELED', 'cancel to take effect', 30_000)
  t.ok(canceled.executions.every((e) => e.state === 'CANCELED'), 'executions canceled')
  const stored = canceled.progress.succeeded
  t.ok(stored < canceled.progress.total, 'canceled before the end')
  // The agent stops measuring: nothing more arrives after the cancel settles.
  await until('the agent to go idle', async () => {
    const a = await api.get<{ progress: { succeeded: number } }>(`/v1/campaigns/${big.id}`)
    await new Promise((r) => setTimeout(r, 1500))
    const b = await api.get<{ progress: { succeeded: number } }>(`/v1/campaigns/${big.id}`)
    return a.progress.succeeded === b.progress.succeeded ? true : undefined
  }, 30_000, 0)
})
