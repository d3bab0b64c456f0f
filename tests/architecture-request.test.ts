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
import { architectureBlocks, blockKey, parseArchitectureId } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { api, silentLogger } from '../controller/src/testing/harness.ts'
import { decodeCheckpoint } from '../controller/src/nas/maml/checkpoint.ts'
import { runCli } from './helpers/fleet.ts'
import { archDevice, startArchFleet, waitForRequest } from './helpers/arch-fleet.ts'

t.test('request -> lazy profiling -> search -> confirmation -> verification -> model; kept across a restart', async (t) => {
  const fleet = await startArchFleet(t)
  const { dir, budget } = fleet
  const ctl = fleet.ctl

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
  const done = await waitForRequest(ctl, id)
  t.equal(done.state, 'SUCCEEDED', done.state === 'SUCCEEDED' ? 'request SUCCEEDED' : JSON.stringify(done.error))
  const r = done.result
  t.ok(r.latency.predictedMs <= budget, `predicted ${r.latency.predictedMs} ms within the ${budget} ms budget`)
  t.ok(r.latency.lowMs <= r.latency.predictedMs && r.latency.predictedMs <= r.latency.highMs, 'with its interval')
  t.equal(r.latency.confidence, 0.9, 'held within the budget at 90% confidence by default')
  t.ok(r.latency.margin >= 0 && Math.abs(r.latency.boundMs - r.latency.predictedMs * (1 + r.latency.margin)) < 1e-9, `bound ${r.latency.boundMs} = predicted x (1 + ${r.latency.margin})`)
  t.ok(r.latency.boundMs <= budget, 'the bound, not only the prediction, is within the budget')
  const unsure = await api(ctl, 'POST', '/v1/architectures', { hardwareProfile: 'box', constraints: { latencyMs: budget, latencyConfidence: 0.3 }, task: { way: 3, shot: 1 } })
  t.equal(unsure.status, 400, 'a confidence below 0.5 is refused')
  t.ok(r.latency.measuredMs > 0, 'verified: measured whole on the device')
  const truth = archDevice.callMs + archDevice.latencyMs(r.architecture.id)
  t.ok(Math.abs(r.latency.measuredMs - truth) < 1e-9, 'the measurement is the device\'s')
  t.same(r.architecture.blocks, architectureBlocks(parseArchitectureId(r.architecture.id)).map(blockKey))
  t.match(r.accuracy.measured, { tasks: 10 })
  t.ok(r.accuracy.measured.mean >= 0 && r.accuracy.measured.mean <= 1)
  t.ok(r.front.length >= 1 && r.front.every((f: { latencyMs: number }) => f.latencyMs <= budget), 'the front is within the budget')
  type Confirmed = { id: string; latencyMs: number; measured: { mean: number; tasks: number }; anchor: boolean }
  const confirmed: Confirmed[] = r.confirmed
  t.equal(confirmed[0].id, r.architecture.id, 'the answer is the best of the candidates evaluated for real')
  t.ok(confirmed.every((c, i) => c.latencyMs <= budget && c.measured.tasks === 10 && (i === 0 || c.measured.mean <= confirmed[i - 1].measured.mean)), 'best measured first, all within budget')
  t.ok(confirmed.some((c) => c.anchor), `uniform networks within budget were confirmed beside the search's best (${confirmed.map((c) => c.id).join(', ')})`)
  const anchorOps = new Set(confirmed.filter((c) => c.anchor).map((c) => parseArchitectureId(c.id).blocks[0].op))
  t.same([...anchorOps].sort(), ['conv', 'dwsep', 'mbconv'], 'an anchor of every op: lazy profiling measured their blocks though the predictor ranks them low')
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
  t.match(show.stdout, /Confirmed for real/)
  const file = join(dir, 'answer.onnx')
  const exported = await runCli(['arch', 'export', id, '--out', file], env)
  t.equal(exported.code, 0, exported.stderr)
  t.ok((await stat(file)).size > 1000, 'the ONNX model is written')
  const missing = await runCli(['arch', 'show', 'a-nope'], env)
  t.equal(missing.code, 3, 'an unknown request exits 3')

  const restarted = await fleet.restart()
  const again = (await api(restarted, 'GET', `/v1/architectures/${id}`)).json
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
