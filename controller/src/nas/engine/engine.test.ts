// The engine's fused inner loop equals the same steps taken one session run at a time; errors carry
// codes; the session cache stays bounded; layouts carry the names the ONNX export asks for.
import t from 'tap'
import ort from 'onnxruntime-node'
import { buildArchitectureModel, createRng, isFleetnasError, type Architecture } from '@fleetnas/shared'
import { TrainingEngine, createNetwork } from './engine.ts'
import { initParams } from './param-layout.ts'
import { exportParamSource } from './export.ts'
import { relativeError } from './oracles/grad-check.ts'

const space = { input: { h: 10, w: 10, c: 1 }, classes: 4 }
const arch: Architecture = {
  g: 0.5,
  blocks: [
    { op: 'conv', kernel: 3, width: 16, down: 'maxpool' },
    { op: 'mbconv', kernel: 3, width: 16, down: 'none', expand: 2 },
    { op: 'dwsep', kernel: 3, width: 16, down: 'stride' },
  ],
}

function data(seed: number, n: number, size: number) {
  const rng = createRng(seed)
  return { x: Float32Array.from({ length: n * size }, () => rng.next()), y: Int32Array.from({ length: n }, (_, i) => i % 4) }
}

t.test('fused inner loop equals step-by-step SGD then the query gradient', async (t) => {
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const net = createNetwork(arch, space)
  const params = initParams(net.layout, createRng(3))
  const s = data(1, 4, net.imageSize)
  const q = data(2, 8, net.imageSize)
  const steps = 3
  const lr = 0.1
  const adapted = Float32Array.from(params)
  for (let i = 0; i < steps; i++) {
    const r = await engine.lossAndGrads(net, adapted, s.x, s.y)
    for (let j = 0; j < adapted.length; j++) adapted[j] -= lr * r.grads[j]
  }
  const manual = await engine.lossAndGrads(net, adapted, q.x, q.y)
  const manualGrads = Float32Array.from(manual.grads)
  const fused = await engine.innerLoop(net, params, { supportX: s.x, supportY: s.y, queryX: q.x, queryY: q.y }, { steps, lr, mode: 'train' })
  t.ok(Math.abs(fused.loss - manual.loss) < 1e-5, `query loss ${fused.loss} = ${manual.loss}`)
  t.ok(relativeError(fused.grads, manualGrads) < 1e-4, 'meta-gradient matches')
  const ev = await engine.innerLoop(net, params, { supportX: s.x, supportY: s.y, queryX: q.x }, { steps, lr, mode: 'eval' })
  const fwd = await engine.forward(net, adapted, q.x)
  t.ok(relativeError(ev.logits, fwd.logits) < 1e-4, 'eval-mode logits equal a forward pass at the adapted params')
  t.equal(params[0], initParams(net.layout, createRng(3))[0], 'the caller params are not modified')
})

t.test('errors carry codes', async (t) => {
  const engine = new TrainingEngine()
  const net = createNetwork(arch, space)
  const params = initParams(net.layout)
  const s = data(1, 4, net.imageSize)
  await t.rejects(engine.lossAndGrads(net, params.subarray(1), s.x, s.y), { code: 'FLEETNAS_ERR_ENGINE_PARAMS_SIZE' })
  await t.rejects(engine.lossAndGrads(net, params, s.x.subarray(3), s.y), { code: 'FLEETNAS_ERR_ENGINE_INPUT_SIZE' })
  await t.rejects(engine.lossAndGrads(net, params, s.x, Int32Array.from([0, 1, 2, 9])), { code: 'FLEETNAS_ERR_ENGINE_LABEL_RANGE' })
  await engine.dispose()
  try {
    await engine.forward(net, params, s.x)
    t.fail('disposed engine must refuse')
  } catch (e) {
    t.ok(isFleetnasError(e, 'FLEETNAS_ERR_ENGINE_DISPOSED'))
  }
})

t.test('session cache is bounded', async (t) => {
  const engine = new TrainingEngine({ maxSessions: 2 })
  t.teardown(() => engine.dispose())
  const net = createNetwork(arch, space)
  const params = initParams(net.layout)
  for (const n of [1, 2, 3, 4]) await engine.forward(net, params, new Float32Array(n * net.imageSize))
  t.equal(engine.cachedSessions, 2)
  const again = await engine.forward(net, params, new Float32Array(net.imageSize))
  t.equal(again.logits.length, 4, 'an evicted shape compiles again')
})

t.test('trained params export through buildArchitectureModel and reproduce the logits', async (t) => {
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const net = createNetwork(arch, space)
  const params = initParams(net.layout, createRng(9))
  const q = data(5, 6, net.imageSize)
  const fwd = await engine.forward(net, params, q.x)
  const model = buildArchitectureModel(arch, { space: { ...space }, batch: 6, params: exportParamSource(net.layout, params, fwd.stats) })
  const session = await ort.InferenceSession.create(model.bytes)
  const out = await session.run({ x: new ort.Tensor('float32', q.x, [6, 1, 10, 10]) })
  await session.release()
  t.ok(relativeError(out.logits.data as Float32Array, fwd.logits) < 1e-4, 'exported inference model with batch statistics = engine forward')
})
