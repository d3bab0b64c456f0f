import t from 'tap'
import { architectureBlocks, architectureId, blockKey, calibrationArchitectures, isHead, parseArchitectureId, parseBlockKey } from '@fleetnas/shared'
import { api, startTestController, waitFor } from '../testing/harness.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'
import { syntheticDevice } from '../testing/synthetic-device.ts'

/** A device whose blocks take a fixed time each, and whose whole graphs run conv 10% faster than alone. */
const device = syntheticDevice({ callMs: 0.006, minBlockMs: 0.01, stepMs: 1 / 5000, inGraph: (b) => (!isHead(b) && b.op === 'conv' ? 0.9 : 1) })
const CALL_MS = device.callMs
const latencyMs = device.latencyMs

t.test('calibration campaign -> fitted model -> predictions for architectures it never saw', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'box-1', hardwareProfile: 'box', latencyMs, overheadMs: CALL_MS, batchSize: 50 })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('box-1')?.hardwareProfile)

  const noModel = await api(ctl, 'GET', '/v1/luts/box/model?threads=1')
  t.equal(noModel.status, 404)
  t.equal(noModel.json.code, 'FLEETNAS_ERR_LATENCY_MODEL_NOT_FOUND')

  const created = await api(ctl, 'POST', '/v1/campaigns', { name: 'calib', calibration: { count: 40, seed: 3 }, targets: { devices: ['box-1'] } })
  t.equal(created.status, 201)
  const calib = calibrationArchitectures(40, 3)
  const expectedBlocks = new Set(calib.flatMap((a) => architectureBlocks(a).map(blockKey)))
  const view = (await api(ctl, 'GET', `/v1/campaigns/${created.json.id}`)).json
  t.equal(view.architectures, 40, 'the calibration set is measured whole')
  t.equal(view.blocks, 40 + expectedBlocks.size, '... with every block it is made of')
  await waitFor('job received', () => agent.jobs.length > 0)
  t.same(agent.jobs[0].architectures?.sort(), calib.map(architectureId).sort(), 'the job carries the architecture ids')
  await waitFor('campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${created.json.id}`)).json.state === 'SUCCEEDED')

  const lut = (await api(ctl, 'GET', '/v1/luts/box?threads=1')).json
  t.equal(lut.architectures.length, 40)
  t.match(lut.overheads, [{ key: 'empty-i28x28x1', kind: 'empty', medianMs: CALL_MS }])
  t.match((await api(ctl, 'GET', '/v1/luts')).json, [{ hardwareProfile: 'box', entries: expectedBlocks.size, architectures: 40 }])

  const model = await api(ctl, 'GET', '/v1/luts/box/model?runtime=onnxruntime&threads=1')
  t.equal(model.status, 200)
  t.match(model.json, { hardwareProfile: 'box', runtime: 'onnxruntime', threads: 1, backend: 'cpu', model: { kind: 'fitted', n: 40 } })
  const { report } = model.json.model
  t.ok(report.heldOut.within5 > report.blockSum.within5, `held-out within 5%: ${report.heldOut.within5}, bare sum ${report.blockSum.within5}`)
  t.equal(model.json.model.points.length, 40)

  // Architectures outside the calibration set: their blocks profiled, the architectures never measured whole.
  const calibIds = new Set(calib.map(architectureId))
  const unseen = calibrationArchitectures(12, 99).filter((a) => !calibIds.has(architectureId(a)))
  const fresh = unseen.slice(0, 10).map(architectureId)
  const blocks = await api(ctl, 'POST', '/v1/campaigns', { name: 'blocks', blocks: unseen.slice(0, 10).flatMap((a) => architectureBlocks(a)), targets: { devices: ['box-1'] } })
  await waitFor('block campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${blocks.json.id}`)).json.state === 'SUCCEEDED')
  const known = new Set((await api(ctl, 'GET', '/v1/luts/box?threads=1')).json.entries.map((e: { key: string }) => e.key))
  const missingOne = architectureId(calibrationArchitectures(400, 7).find((a) => architectureBlocks(a).some((b) => !known.has(blockKey(b))))!)
  const pred = await api(ctl, 'POST', '/v1/luts/box/predict', { threads: 1, architectures: [...fresh, missingOne] })
  t.equal(pred.status, 200)
  t.match(pred.json.model, { kind: 'fitted', n: 40 })
  for (const p of pred.json.predictions.slice(0, -1)) {
    const truth = CALL_MS + latencyMs(p.id)
    t.ok(Math.abs(p.predictedMs / truth - 1) < 0.05, `${p.id}: predicted ${p.predictedMs.toFixed(4)} ms, truth ${truth.toFixed(4)} ms`)
    t.ok(p.lowMs <= p.predictedMs && p.predictedMs <= p.highMs, 'inside its own interval')
    t.same(p.missing, [])
  }
  const last = pred.json.predictions.at(-1)
  t.equal(last.predictedMs, null, 'no guess without the blocks')
  t.ok(last.missing.length > 0 && last.missing.every((k: string) => !known.has(k)), 'the missing block keys are named')
  t.ok(last.missing.every((k: string) => parseBlockKey(k)), 'as keys a campaign can measure')

  const measured = await api(ctl, 'POST', '/v1/luts/box/predict', { architectures: [architectureId(calib[0])] })
  t.ok(Math.abs(measured.json.predictions[0].measuredMs - (CALL_MS + latencyMs(architectureId(calib[0])))) < 1e-9, 'a measured architecture shows its measurement too')

  const bad = await api(ctl, 'POST', '/v1/luts/box/predict', { architectures: ['g3_conv-k3-w64-mp'] })
  t.equal(bad.status, 400)
  t.equal(bad.json.code, 'FLEETNAS_ERR_ARCHITECTURE_INVALID')
  const empty = await api(ctl, 'POST', '/v1/luts/box/predict', { architectures: [] })
  t.equal(empty.status, 400)
  t.equal(empty.json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
  const unknown = await api(ctl, 'POST', '/v1/luts/nobody/predict', { architectures: [fresh[0]] })
  t.equal(unknown.status, 404)
  t.equal(unknown.json.code, 'FLEETNAS_ERR_LATENCY_MODEL_NOT_FOUND')
})

t.test('the model refits when new whole-architecture measurements land, and is kept in the store', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'box-2', hardwareProfile: 'box', latencyMs, overheadMs: CALL_MS, batchSize: 50 })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('box-2')?.hardwareProfile)
  const run = async (body: object) => {
    const { json } = await api(ctl, 'POST', '/v1/campaigns', { name: 'c', targets: { devices: ['box-2'] }, ...body })
    await waitFor('campaign SUCCEEDED', async () => (await api(ctl, 'GET', `/v1/campaigns/${json.id}`)).json.state === 'SUCCEEDED')
  }
  await run({ calibration: { count: 5, seed: 1 } })
  const first = (await api(ctl, 'GET', '/v1/luts/box/model')).json
  t.match(first.model, { kind: 'block-sum', n: 5 }, 'too few architectures: the bare sum, said so')
  await run({ calibration: { count: 30, seed: 2 } })
  await waitFor('refitted after ingest', () => ctl.store.latencyModels.get(ctl.latency.scope('box', 'onnxruntime', 1))?.model.n === 35)
  const second = (await api(ctl, 'GET', '/v1/luts/box/model')).json
  t.match(second.model, { kind: 'fitted', n: 35 })
  t.not(second.fittedAt, first.fittedAt)
  t.equal((await api(ctl, 'GET', '/v1/luts/box/model')).json.fittedAt, second.fittedAt, 'unchanged data: no refit')
})

t.test('campaign inputs for architectures are checked', async (t) => {
  const ctl = await startTestController(t)
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'box-3', hardwareProfile: 'box' })
  t.teardown(() => agent.stop())
  await waitFor('device registered', () => ctl.store.devices.get('box-3')?.hardwareProfile)
  const post = (body: object) => api(ctl, 'POST', '/v1/campaigns', { name: 'c', targets: { devices: ['box-3'] }, ...body })
  const bad = await post({ architectures: ['g1_conv-k4-w64-mp'] })
  t.equal(bad.status, 400)
  t.equal(bad.json.code, 'FLEETNAS_ERR_CAMPAIGN_ARCHITECTURE_INVALID')
  t.match(bad.json.message, /architectures\/0/)
  t.equal((await post({ calibration: { count: 0 } })).json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
  t.equal((await post({ calibration: { count: 5, seed: 'x' } })).json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
  t.equal((await post({})).json.code, 'FLEETNAS_ERR_CAMPAIGN_NO_BLOCKS')
  const only = await post({ architectures: ['g1_conv-k3-w64-mp_conv-k3-w64-mp'], architectureBlocks: false })
  t.equal(only.status, 201)
  t.match((await api(ctl, 'GET', `/v1/campaigns/${only.json.id}`)).json, { blocks: 1, architectures: 1 }, 'architectureBlocks: false measures the architecture alone')
  const conv4Blocks = architectureBlocks(parseArchitectureId('g1_conv-k3-w64-mp_conv-k3-w64-mp'))
  const mixed = await post({ searchSpace: 'default', sample: 5, blocks: conv4Blocks, calibration: { count: 2 }, architectureBlocks: false })
  t.match((await api(ctl, 'GET', `/v1/campaigns/${mixed.json.id}`)).json, { blocks: 5 + conv4Blocks.length + 2, architectures: 2 }, '`sample` samples the space; explicit blocks all stay')
})
