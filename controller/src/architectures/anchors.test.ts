// Which anchors a request confirms per op: the deepest (then widest) and the widest (then deepest).
import t from 'tap'
import { architectureId, parseArchitectureId, type Architecture } from '@fleetnas/shared'
import { anchorsByOrder } from './anchors.ts'

const conv = (g: number, width: number, depth: number) => parseArchitectureId(`g${g}_${Array.from({ length: depth }, (_, i) => `conv-k3-w${width}-${i < 4 ? 'mp' : 'n'}`).join('_')}`)

t.test('per order the first; a network first in both is taken once', async (t) => {
  const deepNarrow = conv(1.5, 16, 5) // 24 channels, 5 blocks
  const wideShallow = conv(1, 32, 4) // Conv4 w32
  const small = conv(1, 16, 2)
  const pick = (xs: Architecture[], n = 1) => anchorsByOrder(xs, (a) => a, () => 0, n).map(architectureId)
  t.same(pick([small, wideShallow, deepNarrow]), [deepNarrow, wideShallow].map(architectureId), 'the deepest, and the widest though shallower')
  const deepWide = conv(2, 16, 5) // 32 channels, 5 blocks: first in both orders
  t.same(pick([deepNarrow, deepWide, wideShallow]), [architectureId(deepWide)], 'once when one network leads both orders')
  const mid = conv(1, 24, 3)
  t.same(pick([small, mid, wideShallow, deepNarrow], 2), [deepNarrow, wideShallow].map(architectureId), 'n per order: here the same two lead both')
  t.same(pick([small, mid, deepNarrow, conv(1, 64, 2)], 2), [deepNarrow, mid, conv(1, 64, 2)].map(architectureId), 'and otherwise up to 2n')
  t.same(pick([]), [], 'none of none')
})

t.test('ties go to the caller\'s order', async (t) => {
  const a = { arch: conv(1, 32, 4), ms: 0.04 }
  const b = { arch: parseArchitectureId('g1_conv-k5-w32-mp_conv-k5-w32-mp_conv-k5-w32-mp_conv-k5-w32-mp'), ms: 0.07 }
  t.same(anchorsByOrder([a, b], (x) => x.arch, (x, y) => y.ms - x.ms, 1), [b], 'same depth and width: the one with more latency')
})
