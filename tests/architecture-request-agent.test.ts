/**
 * An architecture request against a real agent, as a user makes it: a controller with a tiny
 * supernet (glyphs), one agent process measuring with ONNX Runtime, and the `fleetnas` binary. A
 * calibration campaign gives the LUT its latency model; `fleetnas arch request ... --watch` has the
 * blocks the search lacks profiled on the agent, fine-tunes the answer and verifies it by measuring
 * it whole there; the exported model runs in ONNX Runtime. Real timings: only what noise cannot
 * change is asserted.
 */
import t from 'tap'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { architectureBlocks, blockKey, parseArchitectureId } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import type { LutView } from '../controller/src/cli/api-types.ts'
import { runCli, spawnAgent, tempDir, waitOnline } from './helpers/fleet.ts'
import { tinySupernet } from './helpers/supernet.ts'

const FAST = ['--warmup-runs', '2', '--min-runs', '6', '--min-time-ms', '5', '--max-cv', '0.5']

t.test('fleetnas arch request on a real agent: lazy profiling, fine-tuning, verification, model', async (t) => {
  const dir = await tempDir()
  t.teardown(dir.remove)
  const supernet = join(dir.path, 'supernet.ckpt')
  await tinySupernet(supernet)
  const controller = await startController(
    { dataDir: join(dir.path, 'data'), httpPort: 0, mqttPort: 0, insecure: true, logLevel: 'warn', supernet, accuracyEstimation: { predictorSamples: 10, predictorTasks: 2 } },
  )
  t.teardown(() => controller.stop())
  const api = new ApiClient({ api: controller.httpUrl })
  const agent = spawnAgent(['--broker', controller.mqttUrl, '--state-dir', join(dir.path, 'agent'), '--device-id', 'dev-1', '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'warn'])
  t.teardown(() => agent.stop())
  await waitOnline(api, ['dev-1'])
  const env = { FLEETNAS_API: controller.httpUrl }

  const calib = await runCli(['campaign', 'create', '--name', 'calib', '--calibration', '12', '--device', 'dev-1', ...FAST, '--watch'], env)
  t.equal(calib.code, 0, calib.code === 0 ? 'calibration campaign succeeds' : `${calib.stderr}${agent.output()}`)
  const model = await api.get<{ model: { points: { measuredMs: number }[] } }>('/v1/luts/x86-64/model?runtime=onnxruntime&threads=1')
  const measured = model.model.points.map((p) => p.measuredMs).sort((a, b) => a - b)
  const budget = measured[Math.floor(measured.length / 2)]

  const asked = await runCli(
    ['arch', 'request', '--profile', 'x86-64', '--threads', '1', '--latency-ms', String(budget), '--way', '3', '--population', '6', '--generations', '1', '--confirm', '1', '--confirm-tasks', '10', '--finetune', '2', '--verify', '--watch', ...FAST],
    env,
  )
  t.equal(asked.code, 0, asked.code === 0 ? 'the request succeeds' : `${asked.stdout}${asked.stderr}${agent.output()}`)
  const id = asked.stdout.split('\n')[0].trim()
  t.match(id, /^a-[0-9a-f]{10}$/, 'prints the request id first')
  t.match(asked.stdout, /fine-tuned {4}.* after 2 iterations/)
  t.match(asked.stdout, /measured \d/, 'prints the measured latency')

  const r = await api.get<{ state: string; result: { architecture: { id: string }; latency: { predictedMs: number; measuredMs: number; verifyCampaignId: string }; timings: { profilingMs: number } } }>(`/v1/architectures/${id}`)
  t.equal(r.state, 'SUCCEEDED')
  const x = r.result
  t.ok(x.latency.measuredMs > 0, `measured whole on the agent: ${x.latency.measuredMs} ms`)
  t.ok(x.latency.predictedMs <= budget, 'predicted within the budget')
  const verify = await api.get<{ state: string; settings: { minRuns: number } }>(`/v1/campaigns/${x.latency.verifyCampaignId}`)
  t.equal(verify.state, 'SUCCEEDED', 'the verification campaign ran on the agent')
  t.equal(verify.settings.minRuns, 6, "with the request's measurement settings")
  const lut = await api.get<LutView>('/v1/luts/x86-64?runtime=onnxruntime&threads=1')
  const keys = new Set(lut.entries.map((e) => e.key))
  for (const b of architectureBlocks(parseArchitectureId(x.architecture.id))) t.ok(keys.has(blockKey(b)), `the LUT holds ${blockKey(b)}, measured by the agent`)

  const file = join(dir.path, 'answer.onnx')
  const exported = await runCli(['arch', 'export', id, '--out', file], env)
  t.equal(exported.code, 0, exported.stderr)
  const session = await ort.InferenceSession.create(file)
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(28 * 28), [1, 1, 28, 28]) })
  t.same(out[session.outputNames[0]].dims, [1, 3], 'the exported model runs: 3-way logits')
})
