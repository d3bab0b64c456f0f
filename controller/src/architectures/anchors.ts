/**
 * Anchors: the uniform networks within a request's budget (one op, kernel, width and expansion
 * throughout, Conv4's pattern), which the supernet trains best. Which of them a request confirms and
 * profiles first, per op: the first in each of two orders, deeper-then-wider and wider-then-deeper.
 */
import { scaledWidth, type Architecture } from '@fleetnas/shared'

/** Channels of a uniform network's blocks (after Global Expansion). */
const anchorChannels = (a: Architecture) => scaledWidth(a.blocks[0].width, a.g)

/**
 * Orders anchors largest first: deeper, then wider (channels); callers break ties by cost. Depth and
 * width first: they carry the capacity (Conv4 w16 / w32 / w64 at 20-way: 52 / 74 / 87%), where
 * ordered by latency alone an 8-channel 5x5 stack came before a 16-channel 3x3 one, and a 2-block
 * g1.5 network before 5-block ones.
 */
export function largerAnchorFirst(a: Architecture, b: Architecture): number {
  return b.blocks.length - a.blocks.length || anchorChannels(b) - anchorChannels(a)
}

/**
 * Wider first, then deeper: the other anchor of an op. On 28x28 inputs a fifth block runs on a 1x1
 * map and adds little, so the deepest network that fits is often a narrow one, while a shallower
 * wider one fits too (bench:nas at 40% of Conv4: the 5-block 24-channel conv anchor, where Conv4
 * w32 itself fit and fine-tuned 14 points higher than the answer).
 */
export function widerAnchorFirst(a: Architecture, b: Architecture): number {
  return anchorChannels(b) - anchorChannels(a) || b.blocks.length - a.blocks.length
}

/** The orders anchors are taken in, per op: one anchor of each is confirmed. */
export const ANCHOR_ORDERS = [largerAnchorFirst, widerAnchorFirst]

/** Per order, the first `n` of `items` (by `arch`, then `tie`), without repeats. */
export function anchorsByOrder<T>(items: readonly T[], arch: (x: T) => Architecture, tie: (a: T, b: T) => number, n: number): T[] {
  const out = new Set<T>()
  for (const order of ANCHOR_ORDERS) [...items].sort((a, b) => order(arch(a), arch(b)) || tie(a, b)).slice(0, n).forEach((x) => out.add(x))
  return [...out]
}
