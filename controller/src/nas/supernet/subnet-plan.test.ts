// Shared weights keyed by (slot, op, part) at the largest shapes, and the gather/scatter plans of
// sub-networks, checked against an element-by-element oracle: leading channels, kernel centres,
// every sub-network value from exactly one shared value, gradients back into exactly those.
import t from 'tap'
import { DEFAULT_SPACE, createRng, isFleetnasError, parseArchitectureId, sampleArchitectures, architectureId, type Architecture, type SearchSpace } from '@fleetnas/shared'
import { createNetwork, type Network } from '../engine/engine.ts'
import { SubnetCache } from './subnet-cache.ts'
import { gatherParams, scatterAdd, subnetPlan } from './subnet-plan.ts'
import { sharedName, supernetLayout, type SupernetLayout } from './supernet-layout.ts'

const space: SearchSpace = { ...DEFAULT_SPACE, input: { h: 16, w: 16, c: 1 }, classes: 3 }
const layout = supernetLayout(space)
const io = { input: space.input, classes: space.classes }

/**
 * Shared index of every sub-network value (-1 for the head), one element at a time: the value at
 * (o, c, y, x) of block i's part is the shared (slot i, block op, part) value at (o, c, y+d, x+d),
 * d = (K - k) / 2; a BN value c is shared value c.
 */
function oracle(l: SupernetLayout, net: Network): Int32Array {
  const map = new Int32Array(net.layout.size).fill(-1)
  for (const e of net.layout.entries) {
    if (e.name.startsWith('head.')) continue
    const [, i, part] = /^b(\d+)\.(.+)$/.exec(e.name)!
    const s = l.byName.get(sharedName(Number(i), net.arch.blocks[Number(i)].op, part))!
    if (e.dims.length === 1) {
      for (let c = 0; c < e.size; c++) map[e.offset + c] = s.offset + c
      continue
    }
    const [co, ci, k] = e.dims
    const [, CI, K] = s.dims
    const d = (K - k) / 2
    for (let o = 0; o < co; o++)
      for (let c = 0; c < ci; c++)
        for (let y = 0; y < k; y++)
          for (let x = 0; x < k; x++) map[e.offset + ((o * ci + c) * k + y) * k + x] = s.offset + ((o * CI + c) * K + y + d) * K + x + d
  }
  return map
}

const ARCHS: Architecture[] = [
  parseArchitectureId('g1_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp', space),
  parseArchitectureId('g2_conv-k7-w64-n_dwsep-k7-w64-n_mbconv-e4-k7-w64-n_conv-k7-w64-n_mbconv-e4-k7-w64-n', space),
  parseArchitectureId('g0.5_mbconv-e2-k3-w16-s2_dwsep-k5-w24-mp', space),
  ...sampleArchitectures(createRng('plan-test'), 6, space),
]

t.test('shared weights: one tensor per (slot, op, part) at the largest shape of the slot', async (t) => {
  t.same(layout.byName.get('s0.conv.conv.weight')!.dims, [128, 1, 7, 7], 'slot 0 takes the image channels')
  t.same(layout.byName.get('s1.conv.conv.weight')!.dims, [128, 128, 7, 7], 'widest g2 x w64 = 128, largest kernel 7')
  t.same(layout.byName.get('s1.dwsep.dw.weight')!.dims, [128, 1, 7, 7])
  t.same(layout.byName.get('s1.mbconv.dw.weight')!.dims, [512, 1, 7, 7], "mbconv's depthwise is its own tensor, at expansion 4")
  t.same(layout.byName.get('s4.mbconv.project.gamma')!.dims, [128])
  t.notOk([...layout.byName.keys()].some((n) => n.startsWith('head')), 'no shared head: sub-networks start from a zero head')
  t.equal(layout.entries.length, space.maxBlocks * (3 + 6 + 9))
  t.equal(layout.size, layout.entries.reduce((a, e) => a + e.size, 0))
  t.throws(() => supernetLayout({ ...space, kernels: [3, 4] }), { code: 'FLEETNAS_ERR_SUPERNET_SPACE' })
})

t.test('gather takes leading channels and kernel centres; scatter-add touches exactly those values', async (t) => {
  const index = Float32Array.from({ length: layout.size }, (_, i) => i) // exact in float32 below 2^24
  for (const arch of ARCHS) {
    const net = createNetwork(arch, io)
    const plan = subnetPlan(layout, net)
    const map = oracle(layout, net)
    const id = architectureId(arch)

    const gathered = gatherParams(plan, index)
    let wrong = 0
    for (let j = 0; j < map.length; j++) if (gathered[j] !== (map[j] < 0 ? 0 : map[j])) wrong++
    t.equal(wrong, 0, `${id}: every value gathered from its oracle position, the head zero`)

    const image = new Set<number>()
    for (const m of map) if (m >= 0) image.add(m)
    t.equal(image.size, map.filter((m) => m >= 0).length, `${id}: no two values share a shared value`)

    const grads = Float32Array.from({ length: plan.size }, (_, j) => j + 1)
    const into = new Float32Array(layout.size)
    scatterAdd(plan, grads, into)
    let touched = 0
    let misplaced = 0
    for (let i = 0; i < into.length; i++) if (into[i] !== 0) {
      touched++
      if (!image.has(i)) misplaced++
    }
    for (let j = 0; j < map.length; j++) if (map[j] >= 0 && into[map[j]] !== grads[j]) misplaced++
    t.equal(touched, image.size, `${id}: scatter-add touches exactly the sub-network's slices`)
    t.equal(misplaced, 0, `${id}: each gradient lands where its value came from`)
  }
})

t.test('two sub-networks sharing a slice both update it; a full-size block is one run per tensor', async (t) => {
  const a = subnetPlan(layout, createNetwork(parseArchitectureId('g0.5_conv-k3-w32-mp_dwsep-k3-w16-mp', space), io))
  const b = subnetPlan(layout, createNetwork(parseArchitectureId('g1_conv-k5-w32-mp_mbconv-e2-k3-w16-mp', space), io))
  const into = new Float32Array(layout.size)
  scatterAdd(a, new Float32Array(a.size).fill(1), into)
  scatterAdd(b, new Float32Array(b.size).fill(1), into)
  const w = layout.byName.get('s0.conv.conv.weight')!
  const at = (o: number, y: number, x: number) => into[w.offset + o * 49 + y * 7 + x]
  t.equal(at(0, 3, 3), 2, 'kernel centre of a leading channel: both')
  t.equal(at(15, 2, 2), 2, 'channel 15 (g0.5 x w32 = 16), inside the 3x3 centre: both')
  t.equal(at(15, 1, 1), 1, 'inside the 5x5 ring only: the k5 network')
  t.equal(at(16, 3, 3), 1, 'channel 16: only the 32-channel network')
  t.equal(at(0, 0, 0), 0, 'outside both kernels: neither')
  t.equal(into[layout.byName.get('s1.dwsep.dw.weight')!.offset + 2 * 7 + 2], 1, 'slot 1 dwsep: only a')
  t.equal(into[layout.byName.get('s1.mbconv.dw.weight')!.offset + 3 * 7 + 3], 1, 'slot 1 mbconv: only b (ops never share)')

  const full = createNetwork(parseArchitectureId('g2_conv-k7-w64-n_conv-k7-w64-n', space), io)
  const plan = subnetPlan(layout, full)
  t.equal(plan.runs.length / 3, 2, 'two full-size blocks: one run each (weight, gamma and beta lie in the same order on both sides)')
  const shared = new Float32Array(layout.size)
  for (let i = 0; i < shared.length; i++) shared[i] = (i % 1009) / 1009
  const p = gatherParams(plan, shared)
  const e = full.layout.byName.get('b1.conv.weight')!
  const s = layout.byName.get('s1.conv.conv.weight')!
  t.same(p.subarray(e.offset, e.offset + e.size), shared.subarray(s.offset, s.offset + s.size))
})

t.test('the sub-network cache builds a plan once per id and refuses what is not in the space', async (t) => {
  const cache = new SubnetCache(layout, 3, 2)
  const id = 'g0.5_conv-k3-w16-mp_conv-k3-w16-mp'
  const first = cache.get(id)
  t.equal(cache.get(parseArchitectureId(id, space)), first, 'same entry by id or by architecture')
  t.equal(first.net.classes, 3)
  cache.get('g1_conv-k3-w16-mp_conv-k3-w16-mp')
  cache.get('g1_conv-k3-w24-mp_conv-k3-w16-mp')
  t.equal(cache.size, 2, 'bounded')
  t.not(cache.get(id), first, 'rebuilt after eviction')
  for (const bad of ['g3_conv-k3-w16-mp_conv-k3-w16-mp', 'g1_conv-k9-w16-mp_conv-k3-w16-mp', 'g1_conv-k3-w16-mp', 'nonsense']) {
    try {
      cache.get(bad)
      t.fail(`${bad} must be refused`)
    } catch (e) {
      t.ok(isFleetnasError(e, 'FLEETNAS_ERR_SUPERNET_SUBNET'), `${bad}: ${(e as Error).message}`)
    }
  }
  const rgb = createNetwork(parseArchitectureId(id, space), { input: { h: 16, w: 16, c: 3 }, classes: 3 })
  t.throws(() => subnetPlan(layout, rgb), { code: 'FLEETNAS_ERR_SUPERNET_SUBNET' }, 'other image channels')
})
