/**
 * Genetic operators over a search space (Global Expansion g, Adaptive Number of Layers): mutation,
 * crossover and a cost-reducing step (`shrink`) used to repair candidates over budget. Every
 * operator returns a member of the space: a child that breaks a rule is repaired (a downsample
 * on a map smaller than 2x2 becomes 'none'; expand follows the op), and only if repair cannot
 * make a member is the operator retried, then the space sampled, each a bounded number of times.
 *
 * Depth changes keep the leading blocks (a slot keeps its meaning, as its weights do in the
 * supernet): growing appends fresh random blocks, dropping removes trailing ones.
 */
import {
  architectureBlocks,
  canDownsample,
  checkArchitecture,
  DEFAULT_SPACE,
  sampleArchitecture,
  type ArchBlock,
  type Architecture,
  type Rng,
  type SearchSpace,
  type Shape3,
} from '@fleetnas/shared'
import { NoSpaceMember } from './errors.ts'

/** Tries of an operator (then of the sampler) before giving up; repair makes one try enough in the default space. */
export const MEMBER_TRIES = 8

export interface MutateOptions {
  /** Chance that each gene (g, depth, and each block's op, kernel, width, downsample, expand) is redrawn. */
  prob: number
  space?: SearchSpace
}

export interface SpaceOperators {
  space: SearchSpace
  sample(rng: Rng): Architecture
  mutate(arch: Architecture, rng: Rng, prob: number): Architecture
  crossover(a: Architecture, b: Architecture, rng: Rng): Architecture
  /** One random step toward a cheaper architecture (lower g, width, kernel, depth; cheaper op; earlier downsample). */
  shrink(arch: Architecture, rng: Rng): Architecture
}

/** The operators bound to one space, as the search takes them. */
export function spaceOperators(space: SearchSpace = DEFAULT_SPACE): SpaceOperators {
  return {
    space,
    sample: (rng) => sampleMember(rng, space),
    mutate: (arch, rng, prob) => mutate(arch, rng, { prob, space }),
    crossover: (a, b, rng) => crossover(a, b, rng, { space }),
    shrink: (arch, rng) => shrink(arch, rng, { space }),
  }
}

export function mutate(arch: Architecture, rng: Rng, options: MutateOptions): Architecture {
  const space = options.space ?? DEFAULT_SPACE
  const p = options.prob
  return member('mutate', rng, space, () => {
    const g = rng.next() < p ? rng.pick(space.multipliers) : arch.g
    let blocks = arch.blocks.map((b) => mutateBlock(b, rng, p, space))
    if (rng.next() < p) {
      const depths = range(space.minBlocks, space.maxBlocks).filter((d) => d !== blocks.length)
      if (depths.length > 0) {
        const depth = rng.pick(depths)
        blocks = blocks.slice(0, depth)
        while (blocks.length < depth) blocks.push(randomBlock(rng, space))
      }
    }
    return { g, blocks }
  })
}

export function crossover(a: Architecture, b: Architecture, rng: Rng, options: { space?: SearchSpace } = {}): Architecture {
  const space = options.space ?? DEFAULT_SPACE
  return member('crossover', rng, space, () => {
    const depth = rng.next() < 0.5 ? a.blocks.length : b.blocks.length
    const blocks: ArchBlock[] = []
    for (let i = 0; i < depth; i++) {
      const x = a.blocks[i]
      const y = b.blocks[i]
      if (!x || !y) {
        blocks.push({ ...(x ?? y) })
        continue
      }
      const opFrom = rng.next() < 0.5 ? x : y
      blocks.push(
        makeBlock(opFrom.op, rng.next() < 0.5 ? x.kernel : y.kernel, rng.next() < 0.5 ? x.width : y.width, rng.next() < 0.5 ? x.down : y.down, opFrom.expand),
      )
    }
    return { g: rng.next() < 0.5 ? a.g : b.g, blocks }
  })
}

export function shrink(arch: Architecture, rng: Rng, options: { space?: SearchSpace } = {}): Architecture {
  const space = options.space ?? DEFAULT_SPACE
  return member('shrink', rng, space, () => {
    const moves: Array<() => Architecture> = []
    const lowerG = lower(space.multipliers, arch.g)
    if (lowerG !== undefined) moves.push(() => ({ g: lowerG, blocks: arch.blocks.map((b) => ({ ...b })) }))
    if (arch.blocks.length > space.minBlocks) moves.push(() => ({ g: arch.g, blocks: arch.blocks.slice(0, -1).map((b) => ({ ...b })) }))
    arch.blocks.forEach((b, i) => {
      const edit = (change: Partial<ArchBlock>) => () => ({ g: arch.g, blocks: arch.blocks.map((c, j) => (j === i ? { ...c, ...change } : { ...c })) })
      const w = lower(space.widths, b.width)
      if (w !== undefined) moves.push(edit({ width: w }))
      const k = lower(space.kernels, b.kernel)
      if (k !== undefined) moves.push(edit({ kernel: k }))
      const e = b.op === 'mbconv' ? lower(space.expands, b.expand ?? 4) : undefined
      if (e !== undefined) moves.push(edit({ expand: e }))
      if (b.op === 'conv' && space.ops.includes('dwsep')) moves.push(edit({ op: 'dwsep' }))
      if (b.down === 'none' && space.downsamples.includes('maxpool')) moves.push(edit({ down: 'maxpool' }))
    })
    return moves.length > 0 ? rng.pick(moves)() : arch
  })
}

/**
 * Makes `arch` obey the space's structural rules: expand present exactly on mbconv blocks (and in
 * the space), no downsample on a map smaller than 2x2. Values outside the space's choices are left
 * for `checkArchitecture` to report.
 */
export function repairArchitecture(arch: Architecture, space: SearchSpace = DEFAULT_SPACE): Architecture {
  const blocks: ArchBlock[] = []
  for (const b of arch.blocks) {
    const expand = b.op === 'mbconv' ? (space.expands.includes(b.expand ?? 4) ? (b.expand ?? 4) : space.expands[0]) : undefined
    const fixed = makeBlock(b.op, b.kernel, b.width, b.down, expand)
    if (fixed.down !== 'none' && !canDownsample(shapeAfter({ g: arch.g, blocks }, space))) fixed.down = 'none'
    blocks.push(fixed)
  }
  return { g: arch.g, blocks }
}

/** Feature-map shape after `arch`'s blocks, through the one walk (the head's input). */
function shapeAfter(arch: Architecture, space: SearchSpace): Shape3 {
  return architectureBlocks(arch, space).at(-1)!.input
}

function isMember(arch: Architecture, space: SearchSpace): boolean {
  try {
    checkArchitecture(arch, space)
    return true
  } catch {
    return false
  }
}

/** `make()` repaired until it is a member; then the sampler; both bounded. */
function member(what: string, rng: Rng, space: SearchSpace, make: () => Architecture): Architecture {
  for (let i = 0; i < MEMBER_TRIES; i++) {
    const arch = repairArchitecture(make(), space)
    if (isMember(arch, space)) return arch
  }
  return sampleMember(rng, space, what)
}

function sampleMember(rng: Rng, space: SearchSpace, what = 'sample'): Architecture {
  for (let i = 0; i < MEMBER_TRIES; i++) {
    try {
      const arch = repairArchitecture(sampleArchitecture(rng, space), space)
      if (isMember(arch, space)) return arch
    } catch {
      // sampleArchitecture throws on a space with no legal choice at some depth; count it as a try.
    }
  }
  throw NoSpaceMember(what, 2 * MEMBER_TRIES)
}

function mutateBlock(b: ArchBlock, rng: Rng, p: number, space: SearchSpace): ArchBlock {
  const op = rng.next() < p ? rng.pick(space.ops) : b.op
  const kernel = rng.next() < p ? rng.pick(space.kernels) : b.kernel
  const width = rng.next() < p ? rng.pick(space.widths) : b.width
  const down = rng.next() < p ? rng.pick(space.downsamples) : b.down
  const keepExpand = op === 'mbconv' && b.op === 'mbconv' && !(rng.next() < p)
  return makeBlock(op, kernel, width, down, keepExpand ? b.expand : rng.pick(space.expands))
}

/** A fresh block; its downsample is repaired later, where its input shape is known. */
function randomBlock(rng: Rng, space: SearchSpace): ArchBlock {
  const op = rng.pick(space.ops)
  return makeBlock(op, rng.pick(space.kernels), rng.pick(space.widths), rng.pick(space.downsamples), rng.pick(space.expands))
}

/** Same field order as the space's sampler, and expand only on mbconv. */
function makeBlock(op: ArchBlock['op'], kernel: number, width: number, down: ArchBlock['down'], expand: number | undefined): ArchBlock {
  const b: ArchBlock = { op, kernel, width, down }
  if (op === 'mbconv') b.expand = expand ?? 4
  return b
}

/** The next smaller choice in `choices`, if any. */
function lower(choices: readonly number[], value: number): number | undefined {
  let best: number | undefined
  for (const c of choices) if (c < value && (best === undefined || c > best)) best = c
  return best
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
}
