import t from 'tap'
import {
  architectureBlocks,
  architectureId,
  architectureMacs,
  checkArchitecture,
  CONV4,
  createRng,
  DEFAULT_SPACE,
  isFleetnasError,
  sampleArchitecture,
  type Architecture,
  type SearchSpace,
} from '@fleetnas/shared'
import { crossover, mutate, repairArchitecture, shrink, spaceOperators } from './operators.ts'

function isMember(arch: Architecture, space: SearchSpace = DEFAULT_SPACE): boolean {
  try {
    checkArchitecture(arch, space)
    return true
  } catch {
    return false
  }
}

t.test('mutate, crossover and shrink return members over thousands of seeded draws', async (t) => {
  const rng = createRng('operators')
  let bad = 0
  let foreignDepth = 0
  const depthMoves = { grew: 0, dropped: 0 }
  const gChanged = { n: 0 }
  const childDepths = new Set<number>()
  for (let i = 0; i < 4000; i++) {
    const a = sampleArchitecture(rng)
    const b = sampleArchitecture(rng)
    const m = mutate(a, rng, { prob: 0.3 })
    const c = crossover(a, b, rng)
    const s = shrink(a, rng)
    for (const child of [m, c, s]) {
      if (!isMember(child)) bad++
      childDepths.add(child.blocks.length)
    }
    if (m.blocks.length > a.blocks.length) depthMoves.grew++
    if (m.blocks.length < a.blocks.length) depthMoves.dropped++
    if (m.g !== a.g) gChanged.n++
    if (c.blocks.length !== a.blocks.length && c.blocks.length !== b.blocks.length) foreignDepth++
  }
  t.equal(bad, 0, 'no child leaves the space')
  t.equal(foreignDepth, 0, 'crossover takes the depth of a parent')
  t.same([...childDepths].sort(), [2, 3, 4, 5], 'children of every depth')
  t.ok(depthMoves.grew > 400 && depthMoves.dropped > 400, `mutation adds and drops blocks (${depthMoves.grew} grew, ${depthMoves.dropped} dropped)`)
  t.ok(gChanged.n > 500, `mutation changes g (${gChanged.n})`)
})

t.test('operators are deterministic per seed and differ across seeds', async (t) => {
  const run = (seed: string) => {
    const rng = createRng(seed)
    const out: string[] = []
    let a = sampleArchitecture(rng)
    for (let i = 0; i < 200; i++) {
      const b = sampleArchitecture(rng)
      a = i % 3 === 0 ? mutate(a, rng, { prob: 0.2 }) : i % 3 === 1 ? crossover(a, b, rng) : shrink(crossover(a, b, rng), rng)
      out.push(architectureId(a))
    }
    return out
  }
  t.same(run('x'), run('x'))
  t.notSame(run('x'), run('y'))
})

t.test('repair turns a downsample on a map under 2x2 into none, and fixes expand', async (t) => {
  // 28 -> 14 -> 7 -> 3 -> 1 by max-pools: a fifth downsample is illegal.
  const five: Architecture = { g: 1, blocks: [...CONV4.blocks.map((b) => ({ ...b })), { op: 'mbconv', kernel: 3, width: 32, down: 'stride' }] }
  t.throws(() => checkArchitecture(five), { code: 'FLEETNAS_ERR_SPEC_INVALID' })
  const fixed = repairArchitecture(five)
  t.equal(fixed.blocks[4].down, 'none')
  t.equal(fixed.blocks[4].expand, 4, 'mbconv gets an expand')
  t.equal(fixed.blocks[3].down, 'maxpool', 'legal downsamples stay')
  t.ok(isMember(fixed))
  const stray = repairArchitecture({ g: 1, blocks: [{ op: 'conv', kernel: 3, width: 16, down: 'none', expand: 2 }, { op: 'mbconv', kernel: 3, width: 16, down: 'none', expand: 3 }] })
  t.equal(stray.blocks[0].expand, undefined, 'conv loses a stray expand')
  t.equal(stray.blocks[1].expand, DEFAULT_SPACE.expands[0], 'an expand outside the space becomes one inside it')
  t.ok(isMember(stray))
})

t.test('mutation at prob 0 changes nothing; at prob 1 every depth is reached from the extremes', async (t) => {
  const rng = createRng('p')
  const parents = Array.from({ length: 200 }, () => sampleArchitecture(rng))
  t.same(parents.map((a) => mutate(a, rng, { prob: 0 })), parents)
  const two: Architecture = { g: 1, blocks: CONV4.blocks.slice(0, 2).map((b) => ({ ...b })) }
  const depths = new Set(Array.from({ length: 300 }, () => mutate(two, rng, { prob: 1 }).blocks.length))
  t.same([...depths].sort(), [3, 4, 5], 'from the minimum depth, mutation at prob 1 only grows')
})

t.test('shrink lowers MACs on most steps and never leaves the space', async (t) => {
  const rng = createRng('shrink')
  let lowered = 0
  const n = 2000
  for (let i = 0; i < n; i++) {
    const a = sampleArchitecture(rng)
    if (architectureMacs(shrink(a, rng)) < architectureMacs(a)) lowered++
  }
  t.ok(lowered / n > 0.8, `MACs lowered on ${lowered} of ${n}`)
  // The smallest member has no move left: it comes back unchanged.
  const tiny: Architecture = { g: 0.5, blocks: [0, 1].map(() => ({ op: 'dwsep' as const, kernel: 3, width: 16, down: 'maxpool' as const })) }
  t.same(shrink(tiny, rng), tiny)
})

t.test('a space with no legal member at some depth: a coded error, not a hang', async (t) => {
  // Only max-pool, up to 6 blocks: the sixth block would pool a 1x1 map, and 'none' is not allowed.
  const space: SearchSpace = { ...DEFAULT_SPACE, downsamples: ['maxpool'], minBlocks: 6, maxBlocks: 6 }
  const ops = spaceOperators(space)
  t.throws(() => ops.sample(createRng(1)), { code: 'FLEETNAS_ERR_SEARCH_NO_MEMBER' })
  // A space where repair works: the operators bound to it stay inside it.
  const small: SearchSpace = { ...DEFAULT_SPACE, widths: [16, 32], kernels: [3], minBlocks: 3, maxBlocks: 4 }
  const sOps = spaceOperators(small)
  const rng = createRng('small')
  let bad = 0
  let a = sOps.sample(rng)
  for (let i = 0; i < 1000; i++) {
    a = i % 2 ? sOps.mutate(a, rng, 0.5) : sOps.crossover(a, sOps.sample(rng), rng)
    if (!isMember(a, small)) bad++
    architectureBlocks(a, small)
  }
  t.equal(bad, 0)
  t.ok(isFleetnasError(catchError(() => ops.mutate(sOps.sample(rng), createRng(2), 0.1)), 'FLEETNAS_ERR_SEARCH_NO_MEMBER'))
})

function catchError(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}
