/**
 * An architecture request end to end on real parts: a supernet checkpoint (meta-trained for a few
 * iterations on the built-in glyphs), a controller that estimates accuracy with it, an agent that
 * answers jobs over MQTT (the test agent, so the LUT fills in seconds), the HTTP API. The request
 * finds blocks missing from the LUT, has them profiled on the online device, searches, confirms
 * accuracy for real, verifies the latency by measuring the answer whole, and hands out an ONNX
 * model that ONNX Runtime runs and a checkpoint that `adapt` reads; it survives a restart.
 */
import t from 'tap'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { architectureBlocks, blockKey, isHead, parseArchitectureId } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { api, silentLogger, waitFor } from '../controller/src/testing/harness.ts'
import { startFakeAgent } from '../controller/src/testing/fake-agent.ts'
import { syntheticDevice } from '../controller/src/testing/synthetic-device.ts'
import { tinySupernet } from './helpers/supernet.ts'
import { decodeCheckpoint } from '../controller/src/nas/maml/checkpoint.ts'
import { runCli } from './helpers/fleet.ts'

const device = syntheticDevice({ callMs: 0.005, minBlockMs: 0.005, stepMs: 1 / 20000, inGraph: (b) => (isHead(b) ? 1 : 0.9) })
const CALL_MS = device.callMs
const latencyMs = device.latencyMs

t.test('request -> lazy profiling -> search -> confirmation -> verification -> model; kept across a restart', async (t) => {
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
  let ctl = await startController(config, { logger: silentLogger() })
  t.teardown(() => ctl.stop())
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'box-1', hardwareProfile: 'box', latencyMs, overheadMs: CALL_MS, batchSize: 100 })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('box-1')?.hardwareProfile)
  const calib = await api(ctl, 'POST', '/v1/campaigns', { name: 'calib', calibration: { count: 14 }, targets: { devices: ['box-1'] } })
  await waitFor('calibration done', async () => (await api(ctl, 'GET', `/v1/campaigns/${calib.json.id}`)).json.state === 'SUCCEEDED')
  const model = (await api(ctl, 'GET', '/v1/luts/box/model')).json.model
  const budget = [...model.points.map((p: { measuredMs: number }) => p.measuredMs)].sort((a, b) => a - b)[7]

  const bad = await api(ctl, 'POST', '/v1/architectures', { hardwareProfile: 'box', deviceId: 'box-1', constraints: { latencyMs: 1 }, task: { way: 3, shot: 1 } })
  t.equal(bad.status, 400)
  t.equal(bad.json.code, 'FLEETNAS_ERR_ARCH_REQUEST_INVALID')
  const noLut = await api(ctl, 'POST', '/v1/architectures', { hardwareProfile: 'nobody', constraints: { latencyMs: 1 }, task: { way: 3, shot: 1 } })
  t.equal(noLut.json.code, 'FLEETNAS_ERR_LATENCY_MODEL_NOT_FOUND')
  t.equal((await api(ctl, 'GET', '/v1/architectures/a-nope')).json.code, 'FLEETNAS_ERR_ARCH_REQUEST_NOT_FOUND')

  const created = await api(ctl, 'POST', '/v1/architectures', {
    hardwareProfile: 'box',
    constraints: { latencyMs: budget },
    task: { way: 3, shot: 1 },
    search: { population: 8, generations: 2, seed: 4 },
    confirm: 2,
    confirmTasks: 10,
    verify: true,
  })
  t.equal(created.status, 202)
  const id = created.json.id
  const done = await waitFor('request answered', async () => {
    const r = (await api(ctl, 'GET', `/v1/architectures/${id}`)).json
    return r.state === 'SUCCEEDED' || r.state === 'FAILED' ? r : undefined
  }, 180_000)
  t.equal(done.state, 'SUCCEEDED', done.state === 'SUCCEEDED' ? 'request SUCCEEDED' : JSON.stringify(done.error))
  const r = done.result
  t.ok(r.latency.predictedMs <= budget, `predicted ${r.latency.predictedMs} ms within the ${budget} ms budget`)
  t.ok(r.latency.lowMs <= r.latency.predictedMs && r.latency.predictedMs <= r.latency.highMs, 'with its interval')
  t.ok(r.latency.measuredMs > 0, 'verified: measured whole on the device')
  const truth = CALL_MS + latencyMs(r.architecture.id)
  t.ok(Math.abs(r.latency.measuredMs - truth) < 1e-9, 'the measurement is the device\'s')
  t.same(r.architecture.blocks, architectureBlocks(parseArchitectureId(r.architecture.id)).map(blockKey))
  t.match(r.accuracy.measured, { tasks: 10 })
  t.ok(r.accuracy.measured.mean >= 0 && r.accuracy.measured.mean <= 1)
  t.ok(r.front.length >= 1 && r.front.every((f: { latencyMs: number }) => f.latencyMs <= budget), 'the front is within the budget')
  t.ok(r.timings.profilingMs > 0, 'blocks the LUT lacked were profiled on the online device')
  const campaigns = (await api(ctl, 'GET', '/v1/campaigns')).json
  t.ok(campaigns.some((c: { name: string }) => c.name === `request ${id}: missing blocks`), 'as a campaign of their own')
  t.ok(campaigns.some((c: { name: string }) => c.name === `request ${id}: verify`))

  const onnx = await ctl.http.inject({ method: 'GET', url: `/v1/architectures/${id}/model.onnx` })
  t.equal(onnx.statusCode, 200)
  const session = await ort.InferenceSession.create(new Uint8Array(onnx.rawPayload))
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(2 * 28 * 28), [2, 1, 28, 28]) })
  t.same(out[session.outputNames[0]].dims, [2, 3], 'ONNX Runtime runs the model: 3-way logits')
  const ckpt = await ctl.http.inject({ method: 'GET', url: `/v1/architectures/${id}/checkpoint` })
  const sub = decodeCheckpoint(new Uint8Array(ckpt.rawPayload))
  t.equal(sub.architectureId, r.architecture.id)
  t.equal(sub.config.way, 3)

  // The same through the CLI.
  const env = { FLEETNAS_API: ctl.httpUrl }
  const show = await runCli(['arch', 'show', id], env)
  t.equal(show.code, 0, show.stderr)
  t.match(show.stdout, new RegExp(`architecture  ${r.architecture.id.replace(/\./g, '\\.')}`))
  t.match(show.stdout, /Pareto front \(predicted\)/)
  const file = join(dir, 'answer.onnx')
  const exported = await runCli(['arch', 'export', id, '--out', file], env)
  t.equal(exported.code, 0, exported.stderr)
  t.ok((await stat(file)).size > 1000, 'the ONNX model is written')
  const missing = await runCli(['arch', 'show', 'a-nope'], env)
  t.equal(missing.code, 3, 'an unknown request exits 3')

  await ctl.stop()
  ctl = await startController(config, { logger: silentLogger() })
  const again = (await api(ctl, 'GET', `/v1/architectures/${id}`)).json
  t.equal(again.state, 'SUCCEEDED', 'kept across a restart')
  t.same(again.result.architecture, r.architecture)
})

t.test('without a supernet, a request is refused with what to do', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-arch-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const ctl = await startController({ dataDir: dir, httpPort: 0, mqttPort: 0, insecure: true }, { logger: silentLogger() })
  t.teardown(() => ctl.stop())
  const res = await api(ctl, 'POST', '/v1/architectures', { hardwareProfile: 'box', constraints: { latencyMs: 1 }, task: { way: 5, shot: 1 } })
  t.equal(res.status, 409)
  t.equal(res.json.code, 'FLEETNAS_ERR_ARCH_NO_SUPERNET')
  t.match(res.json.message, /--supernet/)
})
