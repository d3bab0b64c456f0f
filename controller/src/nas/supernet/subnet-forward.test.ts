// Sub-networks with inherited weights on the training engine: the supernet path computes what the
// stand-alone architecture computes with the same parameters, and weight sharing means what it
// says (a k3 kernel is the centre of the k7 one; a narrower layer is the leading channels of a wider one).
import t from 'tap'
import { DEFAULT_SPACE, createRng, parseArchitectureId, type SearchSpace } from '@fleetnas/shared'
import { TrainingEngine, createNetwork } from '../engine/engine.ts'
import { createAdamState } from '../maml/adam.ts'
import { metaEvaluate } from '../maml/evaluate.ts'
import { syntheticSampler } from '../maml/test-tasks.ts'
import type { SupernetCheckpoint } from './checkpoint.ts'
import { resolveSupernetConfig } from './config.ts'
import { evaluateSubnet, subnetCheckpoint } from './evaluate.ts'
import { initSupernetParams, sharedName, supernetLayout } from './supernet-layout.ts'

const H = 10
const space: SearchSpace = { ...DEFAULT_SPACE, input: { h: H, w: H, c: 1 }, classes: 3 }
const layout = supernetLayout(space)
const sampler = syntheticSampler(3, 2, 4)

/** A supernet with random weights and BN affine terms away from the identity. */
function randomSupernet(): SupernetCheckpoint {
  const params = initSupernetParams(layout, createRng('forward-test'))
  const rng = createRng('affine')
  for (const e of layout.entries) if (e.role !== 'conv') for (let i = e.offset; i < e.offset + e.size; i++) params[i] += 0.2 * rng.normal()
  return {
    space,
    config: resolveSupernetConfig({ way: 3, shot: 2, query: 4, iterations: 0, innerSteps: 2, innerLr: 0.4 }),
    iteration: 0,
    params,
    adam: createAdamState(layout.size),
  }
}

const close = (a: Float32Array, b: Float32Array, tol: number) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])))

t.test("a sub-network with inherited weights computes what the stand-alone architecture does with the gathered parameters", async (t) => {
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const ck = randomSupernet()
  const id = 'g1_dwsep-k5-w32-mp_mbconv-e4-k3-w32-n_conv-k7-w16-s2'
  const sub = subnetCheckpoint(ck, id)
  t.equal(sub.architectureId, id)
  t.same(sub.space, { input: space.input, classes: 3 })
  t.equal(sub.config.zeroHead, true)

  // The stand-alone architecture, its parameters read from the shared tensors by name and index.
  const arch = parseArchitectureId(id, space)
  const net = createNetwork(arch, { input: space.input, classes: 3 })
  const params = new Float32Array(net.layout.size)
  for (const e of net.layout.entries) {
    if (e.name.startsWith('head.')) continue
    const [, i, part] = /^b(\d+)\.(.+)$/.exec(e.name)!
    const s = layout.byName.get(sharedName(Number(i), arch.blocks[Number(i)].op, part))!
    const [co, ci = 1, k = 1] = e.dims
    const [, CI = 1, K = 1] = s.dims
    const d = (K - k) / 2
    for (let o = 0; o < co; o++)
      for (let c = 0; c < ci; c++)
        for (let y = 0; y < k; y++)
          for (let x = 0; x < k; x++) params[e.offset + ((o * ci + c) * k + y) * k + x] = ck.params[s.offset + ((o * CI + c) * K + y + d) * K + x + d]
  }
  t.same(sub.params, params, 'the same parameters')

  const task = sampler.sample(createRng(3))
  const a = await engine.forward(createNetwork(sub.arch, sub.space), sub.params, task.support.x)
  const statsA = [...a.stats.entries()].map(([k, v]) => [k, Float32Array.from(v.mean), Float32Array.from(v.variance)] as const)
  const b = await engine.forward(net, params, task.support.x)
  t.equal(statsA.length, 6, 'dwsep 2, mbconv 3 and conv 1 batch norms')
  for (const [k, mean, variance] of statsA) {
    t.same(mean, b.stats.get(k)!.mean, `${k} batch mean`)
    t.same(variance, b.stats.get(k)!.variance, `${k} batch variance`)
  }
  const inner = { supportX: task.support.x, supportY: task.support.y, queryX: task.queryset.x }
  const la = Float32Array.from((await engine.innerLoop(createNetwork(sub.arch, sub.space), sub.params, inner, { steps: 2, lr: 0.4, mode: 'eval' })).logits)
  const lb = (await engine.innerLoop(net, params, inner, { steps: 2, lr: 0.4, mode: 'eval' })).logits
  t.same(la, lb, 'adapted query logits')
  t.ok(la.some((v) => v !== 0), 'the adapted zero head is no longer zero')

  const viaSupernet = await evaluateSubnet(ck, id, { sampler, tasks: 6, engine })
  const standalone = await metaEvaluate({ ...sub, params }, sampler, { tasks: 6, engine })
  t.equal(viaSupernet.accuracy, standalone.accuracy, 'evaluateSubnet scores what metaEvaluate scores on the stand-alone network')
  t.equal(viaSupernet.innerLr, 0.4)
})

t.test('weight sharing: a k3 kernel is the centre of the k7 one, a narrow layer the leading channels of a wide one', async (t) => {
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const ck = randomSupernet()
  // Zero every 7x7 kernel outside its 3x3 centre: a k7 network then computes what the k3 one does.
  for (const e of layout.entries) {
    if (e.dims.length !== 4 || e.dims[2] !== 7) continue
    for (let i = 0; i < e.size; i++) {
      const y = Math.floor(i / 7) % 7
      const x = i % 7
      if (y < 2 || y > 4 || x < 2 || x > 4) ck.params[e.offset + i] = 0
    }
  }
  const task = sampler.sample(createRng(4))
  const run = async (id: string) => {
    const sub = subnetCheckpoint(ck, id)
    const net = createNetwork(sub.arch, sub.space)
    const f = await engine.forward(net, sub.params, task.support.x)
    const stats = new Map([...f.stats].map(([k, v]) => [k, { mean: Float32Array.from(v.mean), variance: Float32Array.from(v.variance) }]))
    // The zero head's gradient is the support features times (softmax - onehot): the same features give the same.
    const g = await engine.lossAndGrads(net, sub.params, task.support.x, task.support.y)
    const e = net.layout.byName.get('head.fc.weight')!
    return { stats, headGrad: Float32Array.from(g.grads.subarray(e.offset, e.offset + e.size)) }
  }
  const k3 = await run('g1_conv-k3-w32-mp_dwsep-k3-w32-mp_mbconv-e2-k3-w32-n')
  const k7 = await run('g1_conv-k7-w32-mp_dwsep-k7-w32-mp_mbconv-e2-k7-w32-n')
  for (const [k, s] of k3.stats) {
    t.ok(close(s.mean, k7.stats.get(k)!.mean, 1e-4), `${k}: same batch mean`)
    t.ok(close(s.variance, k7.stats.get(k)!.variance, 1e-4), `${k}: same batch variance`)
  }
  t.ok(close(k3.headGrad, k7.headGrad, 1e-4), 'same features into the head')
  t.ok(k3.headGrad.some((v) => v !== 0))

  const narrow = await run('g1_conv-k5-w16-mp_conv-k3-w16-mp')
  const wide = await run('g1_conv-k5-w32-mp_conv-k3-w16-mp')
  const n = narrow.stats.get('b0.conv')!
  const w = wide.stats.get('b0.conv')!
  t.equal(n.mean.length, 16)
  t.equal(w.mean.length, 32)
  t.ok(close(n.mean, w.mean.subarray(0, 16), 1e-5), 'first layer: the 16 channels are the 32-channel layer’s first 16 (mean)')
  t.ok(close(n.variance, w.variance.subarray(0, 16), 1e-5), '(variance)')
})
