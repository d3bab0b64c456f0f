// The sandwich rule's draws: largest and smallest per op (rotating), random ones within the compute
// cap, kept for randomReuse iterations and replaced one slot at a time; deterministic per seed.
import t from 'tap'
import { CONV4, DEFAULT_SPACE, architectureId, createRng, isFleetnasError, parseArchitectureId } from '@fleetnas/shared'
import { architectureActivations, conv4Architecture, relativeCost } from './compute-cap.ts'
import { resolveSupernetConfig } from './config.ts'
import { SandwichSampler } from './sandwich.ts'

const space = { ...DEFAULT_SPACE }

t.test('the cap counts MACs and activations relative to Conv4 at the same input', async (t) => {
  t.same(conv4Architecture(space), CONV4, 'at 28x28 the reference is Conv4 itself')
  t.equal(architectureId(conv4Architecture({ input: { h: 10, w: 10, c: 1 }, classes: 5 })), 'g1_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-n', 'and pools only where it can')
  // 28x28x64 conv + 14x14x64 pooled, 14x14x64 + 7x7x64, 7x7x64 + 3x3x64, 3x3x64 + 1x1x64.
  t.equal(architectureActivations(CONV4, space), 64 * (784 + 196 + 196 + 49 + 49 + 9 + 9 + 1))
  // dwsep k3 w16 s2 at 28x28x1: depthwise 14x14x1, pointwise 14x14x16; mbconv e2 at 14x14x16 -> 16: expand 14x14x32, dw 14x14x32, project 14x14x16.
  t.equal(architectureActivations(parseArchitectureId('g1_dwsep-k3-w16-s2_mbconv-e2-k3-w16-n'), space), 196 * (1 + 16) + 196 * (32 + 32 + 16))
  t.same(relativeCost(CONV4, space), { macs: 1, activations: 1 })
})

t.test('largest and smallest per op, within the cap; the op rotates with the iteration', async (t) => {
  const s = new SandwichSampler(space, { computeCap: 1.5, randomReuse: 4, seed: 1, metaBatch: 5 })
  for (const op of space.ops) {
    const large = s.largest(op)
    const small = s.smallest(op)
    const c = s.cost(large)
    t.ok(large.blocks.every((b) => b.op === op) && small.blocks.every((b) => b.op === op))
    t.equal(large.blocks.length, space.maxBlocks, `largest ${op} is as deep as the space allows`)
    t.ok(s.withinCap(large) && c.macs <= 1.5 && c.activations <= 1.5, `largest ${op} within the cap (${c.macs.toFixed(2)} x MACs, ${c.activations.toFixed(2)} x activations)`)
    t.ok(Math.max(c.macs, c.activations) > 0.75, `largest ${op} uses the cap`)
    t.equal(small.blocks.length, space.minBlocks)
    t.equal(small.g, 0.5)
  }
  const d0 = s.draws(0)
  t.same(d0.map((d) => d.role), ['largest', 'smallest', 'random', 'random', 'random'])
  t.same([0, 1, 2, 3].map((i) => s.draws(i)[0].arch.blocks[0].op), ['conv', 'dwsep', 'mbconv', 'conv'])
  const uncapped = new SandwichSampler(space, { computeCap: 0, randomReuse: 4, seed: 1, metaBatch: 2 })
  t.ok(uncapped.cost(uncapped.largest('conv')).macs > 20, "without a cap the largest conv network has over 20 times Conv4's MACs")
})

t.test('random sub-networks: within the cap, kept for randomReuse iterations, one slot replaced at a time, seeded', async (t) => {
  const s = new SandwichSampler(space, { computeCap: 1, randomReuse: 4, seed: 1, metaBatch: 5 })
  const randoms = Array.from({ length: 24 }, (_, i) => s.draws(i).slice(2))
  t.ok(randoms.flat().every((d) => s.withinCap(d.arch)), 'all within the cap')
  const ids = randoms.map((row) => row.map((d) => d.id))
  for (let i = 1; i < ids.length; i++) {
    const changed = ids[i].filter((id, j) => id !== ids[i - 1][j]).length
    t.ok(changed <= 1, `iteration ${i}: ${changed} random slot(s) replaced`)
  }
  for (let j = 0; j < 3; j++) {
    const distinct = new Set(ids.map((row) => row[j]))
    t.ok(distinct.size >= 24 / 4 && distinct.size <= 24 / 4 + 1, `slot ${j}: ${distinct.size} sub-networks over 24 iterations`)
  }
  const again = new SandwichSampler(space, { computeCap: 1, randomReuse: 4, seed: 1, metaBatch: 5 })
  t.same(Array.from({ length: 24 }, (_, i) => again.draws(23 - i).map((d) => d.id)).reverse(), Array.from({ length: 24 }, (_, i) => s.draws(i).map((d) => d.id)), 'the same draws in any order of asking')
  const other = new SandwichSampler(space, { computeCap: 1, randomReuse: 4, seed: 2, metaBatch: 5 })
  t.not(other.draws(0)[2].id, s.draws(0)[2].id, 'another seed draws other random sub-networks')
})

t.test('options are validated together; a cap below the smallest network is refused', async (t) => {
  try {
    resolveSupernetConfig({ way: 1, shot: 1, query: 1, iterations: -1, metaBatch: 1, computeCap: -1, randomReuse: 0, zeroHead: false as never })
    t.fail('must throw')
  } catch (e) {
    t.ok(isFleetnasError(e, 'FLEETNAS_ERR_SUPERNET_CONFIG'))
    for (const word of ['way', 'iterations', 'metaBatch', 'computeCap', 'randomReuse', 'zeroHead']) t.match((e as Error).message, word)
  }
  const c = resolveSupernetConfig({ way: 5, shot: 1, query: 15, iterations: 10 })
  t.match(c, { zeroHead: true, computeCap: 1.5, randomReuse: 10, metaBatch: 4, innerSteps: 5 })
  t.throws(() => new SandwichSampler(space, { computeCap: 0.001, randomReuse: 1, seed: 1, metaBatch: 4 }), { code: 'FLEETNAS_ERR_SUPERNET_CONFIG' })
})

t.test('sampleWithinCap: distinct architectures, all within the cap, the same for the same seed', async (t) => {
  const s = new SandwichSampler(space, { computeCap: 1, randomReuse: 1, seed: 1, metaBatch: 2 })
  const a = s.sampleWithinCap(createRng('x'), 40)
  t.equal(a.length, 40)
  t.equal(new Set(a.map(architectureId)).size, 40, 'distinct')
  t.ok(a.every((x) => s.withinCap(x)), 'every one within the cap')
  t.ok(new Set(a.flatMap((x) => x.blocks.map((b) => b.op))).size === space.ops.length, 'every op met')
  t.same(s.sampleWithinCap(createRng('x'), 40).map(architectureId), a.map(architectureId), 'seeded')
})

t.test('sampleUniformWithinCap: uniform networks (one op, kernel, width throughout), within the cap', async (t) => {
  const s = new SandwichSampler(space, { computeCap: 1.5, randomReuse: 1, seed: 1, metaBatch: 2 })
  const a = s.sampleUniformWithinCap(createRng('u'), 12)
  t.equal(a.length, 12)
  t.equal(new Set(a.map(architectureId)).size, 12, 'distinct')
  for (const x of a) {
    const b0 = x.blocks[0]
    t.ok(x.blocks.every((b) => b.op === b0.op && b.kernel === b0.kernel && b.width === b0.width && b.expand === b0.expand), `${architectureId(x)} is uniform`)
    t.ok(s.withinCap(x))
  }
})

t.test('sampleNeighboursWithinCap: one step from a given network, within the cap, never one of those given', async (t) => {
  const s = new SandwichSampler(space, { computeCap: 1.5, randomReuse: 1, seed: 1, metaBatch: 2 })
  const from = s.sampleUniformWithinCap(createRng('u'), 6)
  const fromIds = new Set(from.map(architectureId))
  const rng = createRng('n')
  // The step: one block's width redrawn, so every neighbour differs from its origin in that gene alone.
  const step = (a: (typeof from)[number]) => {
    const i = rng.int(a.blocks.length)
    return { ...a, blocks: a.blocks.map((b, j) => (j === i ? { ...b, width: rng.pick(space.widths) } : b)) }
  }
  const n = s.sampleNeighboursWithinCap(rng, from, 10, step)
  t.equal(n.length, 10)
  t.equal(new Set(n.map(architectureId)).size, 10, 'distinct')
  for (const x of n) {
    t.notOk(fromIds.has(architectureId(x)), `${architectureId(x)} is not one of those given`)
    t.ok(s.withinCap(x), 'within the cap')
    const near = from.some((f) => f.g === x.g && f.blocks.length === x.blocks.length && f.blocks.filter((b, j) => architectureId({ g: 1, blocks: [b] }) !== architectureId({ g: 1, blocks: [x.blocks[j]] })).length === 1)
    t.ok(near, `${architectureId(x)} is one block from a given network`)
  }
  t.same(s.sampleNeighboursWithinCap(createRng('n'), [], 5, step), [], 'nothing to step from: none')
})

t.test('nearUniform: that share of random sub-networks lies a few genes from a uniform network; 0 draws as before', async (t) => {
  const opts = { computeCap: 1.5, randomReuse: 1, seed: 3, metaBatch: 4 }
  const plain = new SandwichSampler(space, opts)
  const none = new SandwichSampler(space, { ...opts, nearUniform: 0 })
  const near = new SandwichSampler(space, { ...opts, nearUniform: 1 })
  const iterations = Array.from({ length: 40 }, (_, i) => i)
  t.same(
    iterations.map((i) => none.draws(i).map((d) => d.id)),
    iterations.map((i) => plain.draws(i).map((d) => d.id)),
    'share 0 draws what a run from before the option drew (a resumed run continues unchanged)',
  )
  // Genes apart from the nearest uniform network: g, depth, and each block's op, kernel, width, expansion.
  const uniform = plain.uniformWithinCap()
  const blockGenes = (b: (typeof uniform)[number]['blocks'][number]) => [b.op, b.kernel, b.width, b.expand ?? 0]
  const distance = (a: (typeof uniform)[number]) =>
    Math.min(
      ...uniform.map((u) => {
        let d = (u.g === a.g ? 0 : 1) + Math.abs(u.blocks.length - a.blocks.length)
        for (let j = 0; j < Math.min(u.blocks.length, a.blocks.length); j++) {
          const [x, y] = [blockGenes(u.blocks[j]), blockGenes(a.blocks[j])]
          d += x.filter((v, k) => v !== y[k]).length
        }
        return d
      }),
    )
  const randoms = (s: SandwichSampler) => iterations.flatMap((i) => s.draws(i).slice(2).map((d) => d.arch))
  const nearDraws = randoms(near)
  t.ok(nearDraws.every((a) => near.withinCap(a)), 'all within the cap')
  const close = (xs: typeof nearDraws) => xs.filter((a) => distance(a) <= 2).length / xs.length
  t.ok(close(nearDraws) >= 0.9, `${(close(nearDraws) * 100).toFixed(0)}% of near-uniform draws within 2 genes of a uniform network`)
  t.ok(close(randoms(plain)) <= 0.3, `against ${(close(randoms(plain)) * 100).toFixed(0)}% of draws from the whole space`)
  t.ok(new Set(nearDraws.map(architectureId)).size >= nearDraws.length / 2, 'and they vary')
  t.throws(() => resolveSupernetConfig({ way: 5, shot: 1, query: 1, iterations: 1, nearUniform: 1.5 }), { code: 'FLEETNAS_ERR_SUPERNET_CONFIG' })
})
