/**
 * The search space of DESIGN.md as code. An architecture is a global width multiplier g (Global
 * Expansion) and 2 to 5 active blocks (Adaptive Number of Layers), each an op, a kernel, a base
 * width and a downsample; a head (global average pool + linear) follows the last active block.
 *
 * `architectureBlocks` is the one walk from an architecture to its concrete blocks; the LUT key
 * list, latency prediction, ONNX export and training all go through it.
 */
import { Type, type Static } from '@sinclair/typebox'
import { InvalidSpec } from '../errors.ts'
import type { Rng } from '../random.ts'
import {
  BLOCK_OPS,
  blockKey,
  blockMacs,
  blockParams,
  convOut,
  outputShape,
  poolOut,
  type BlockOp,
  type BlockSpec,
  type LayerBlockSpec,
  type Shape3,
} from '../blocks/block-spec.ts'

export const DOWNSAMPLES = ['maxpool', 'stride', 'none'] as const
export type Downsample = (typeof DOWNSAMPLES)[number]
const DOWN_CODE: Record<Downsample, string> = { maxpool: 'mp', stride: 's2', none: 'n' }
const CODE_DOWN: Record<string, Downsample> = { mp: 'maxpool', s2: 'stride', n: 'none' }

export interface ArchBlock {
  op: BlockOp
  kernel: number
  /** Base width before the global multiplier. */
  width: number
  down: Downsample
  /** mbconv only. */
  expand?: number
}

export interface Architecture {
  /** Global Expansion multiplier applied to every width. */
  g: number
  blocks: ArchBlock[]
}

export const SearchSpaceSchema = Type.Object({
  input: Type.Object({ h: Type.Integer({ minimum: 1 }), w: Type.Integer({ minimum: 1 }), c: Type.Integer({ minimum: 1 }) }),
  classes: Type.Integer({ minimum: 2 }),
  ops: Type.Array(Type.Union(BLOCK_OPS.map((o) => Type.Literal(o)))),
  kernels: Type.Array(Type.Integer()),
  widths: Type.Array(Type.Integer()),
  downsamples: Type.Array(Type.Union(DOWNSAMPLES.map((d) => Type.Literal(d)))),
  expands: Type.Array(Type.Integer()),
  multipliers: Type.Array(Type.Number()),
  minBlocks: Type.Integer({ minimum: 1 }),
  maxBlocks: Type.Integer({ minimum: 1 }),
})
export type SearchSpace = Static<typeof SearchSpaceSchema>

/** The default space: 28x28 grayscale input, 5-way heads (Omniglot-style few-shot tasks). */
export const DEFAULT_SPACE: SearchSpace = {
  input: { h: 28, w: 28, c: 1 },
  classes: 5,
  ops: ['conv', 'dwsep', 'mbconv'],
  kernels: [3, 5, 7],
  widths: [16, 24, 32, 48, 64],
  downsamples: ['maxpool', 'stride', 'none'],
  expands: [2, 4],
  multipliers: [0.5, 0.75, 1, 1.5, 2],
  minBlocks: 2,
  maxBlocks: 5,
}

/** The manual baseline: four conv-k3-w64 blocks with max-pool, g = 1. */
export const CONV4: Architecture = {
  g: 1,
  blocks: Array.from({ length: 4 }, () => ({ op: 'conv' as const, kernel: 3, width: 64, down: 'maxpool' as const })),
}

/** Conv4 at other widths (the manual baselines a searched architecture is compared with). */
export function conv4Family(widths: readonly number[] = [64, 32, 16]): Architecture[] {
  return widths.map((width) => ({ g: 1, blocks: CONV4.blocks.map((b) => ({ ...b, width })) }))
}

/** Width after Global Expansion: the nearest multiple of 8, at least 8. */
export function scaledWidth(width: number, g: number): number {
  return Math.max(8, Math.round((width * g) / 8) * 8)
}

function layerBlock(b: ArchBlock, g: number, input: Shape3): LayerBlockSpec {
  const spec: LayerBlockSpec = {
    op: b.op,
    kernel: b.kernel,
    stride: b.down === 'stride' ? 2 : 1,
    pool: b.down === 'maxpool',
    input,
    outChannels: scaledWidth(b.width, g),
  }
  if (b.op === 'mbconv') spec.expand = b.expand ?? 4
  return spec
}

/** Downsampling is allowed only while the feature map is at least 2x2. */
export function canDownsample(shape: Shape3): boolean {
  return shape.h >= 2 && shape.w >= 2
}

/** The one walk: architecture -> concrete blocks (layers then head), with shapes threaded through. */
export function architectureBlocks(arch: Architecture, space: Pick<SearchSpace, 'input' | 'classes'> = DEFAULT_SPACE): BlockSpec[] {
  const out: BlockSpec[] = []
  let shape: Shape3 = { ...space.input }
  arch.blocks.forEach((b, i) => {
    if (b.down !== 'none' && !canDownsample(shape))
      throw InvalidSpec(`block ${i + 1} downsamples a ${shape.h}x${shape.w} feature map`)
    const spec = layerBlock(b, arch.g, shape)
    out.push(spec)
    shape = outputShape(spec)
  })
  out.push({ op: 'head', input: shape, classes: space.classes })
  return out
}

export function architectureMacs(arch: Architecture, space: Pick<SearchSpace, 'input' | 'classes'> = DEFAULT_SPACE): number {
  return architectureBlocks(arch, space).reduce((s, b) => s + blockMacs(b), 0)
}

export function architectureParams(arch: Architecture, space: Pick<SearchSpace, 'input' | 'classes'> = DEFAULT_SPACE): number {
  return architectureBlocks(arch, space).reduce((s, b) => s + blockParams(b), 0)
}

function formatG(g: number): string {
  return String(g)
}

/** Canonical id, e.g. `g1_conv-k3-w64-mp_dwsep-k5-w32-s2_mbconv-e4-k7-w48-n`. URL-safe. */
export function architectureId(arch: Architecture): string {
  const blocks = arch.blocks.map((b) => {
    const e = b.op === 'mbconv' ? `-e${b.expand ?? 4}` : ''
    return `${b.op}${e}-k${b.kernel}-w${b.width}-${DOWN_CODE[b.down]}`
  })
  return [`g${formatG(arch.g)}`, ...blocks].join('_')
}

const ARCH_BLOCK_RE = /^(conv|dwsep|mbconv)(?:-e(\d+))?-k(\d+)-w(\d+)-(mp|s2|n)$/

/** Inverse of `architectureId`; checks membership of `space` too. */
export function parseArchitectureId(id: string, space: SearchSpace = DEFAULT_SPACE): Architecture {
  const [gPart, ...blockParts] = id.split('_')
  const gm = /^g(\d+(?:\.\d+)?)$/.exec(gPart ?? '')
  if (!gm) throw InvalidSpec(`architecture id must start with g<multiplier>: ${JSON.stringify(id)}`)
  const arch: Architecture = {
    g: Number(gm[1]),
    blocks: blockParts.map((p) => {
      const m = ARCH_BLOCK_RE.exec(p)
      if (!m) throw InvalidSpec(`bad block ${JSON.stringify(p)} in architecture id ${JSON.stringify(id)}`)
      const b: ArchBlock = { op: m[1] as BlockOp, kernel: Number(m[3]), width: Number(m[4]), down: CODE_DOWN[m[5]] }
      if (m[2] !== undefined) b.expand = Number(m[2])
      if (b.op === 'mbconv' && b.expand === undefined) b.expand = 4
      if (b.op !== 'mbconv' && m[2] !== undefined) throw InvalidSpec(`${b.op} takes no expand in ${JSON.stringify(p)}`)
      return b
    }),
  }
  checkArchitecture(arch, space)
  return arch
}

/** Throws FLEETNAS_ERR_SPEC_INVALID naming every way `arch` leaves `space`. */
export function checkArchitecture(arch: Architecture, space: SearchSpace = DEFAULT_SPACE): Architecture {
  const problems: string[] = []
  if (!space.multipliers.includes(arch.g)) problems.push(`g ${arch.g} not in ${space.multipliers.join('|')}`)
  if (arch.blocks.length < space.minBlocks || arch.blocks.length > space.maxBlocks)
    problems.push(`${arch.blocks.length} blocks, need ${space.minBlocks} to ${space.maxBlocks}`)
  arch.blocks.forEach((b, i) => {
    const at = `block ${i + 1}`
    if (!space.ops.includes(b.op)) problems.push(`${at}: op ${b.op} not in the space`)
    if (!space.kernels.includes(b.kernel)) problems.push(`${at}: kernel ${b.kernel} not in ${space.kernels.join('|')}`)
    if (!space.widths.includes(b.width)) problems.push(`${at}: width ${b.width} not in ${space.widths.join('|')}`)
    if (!space.downsamples.includes(b.down)) problems.push(`${at}: downsample ${b.down} not in the space`)
    if (b.op === 'mbconv' && !space.expands.includes(b.expand ?? 4)) problems.push(`${at}: expand ${b.expand} not in ${space.expands.join('|')}`)
  })
  if (problems.length === 0) {
    try {
      architectureBlocks(arch, space)
    } catch (e) {
      problems.push((e as Error).message.replace(/^invalid specification: /, ''))
    }
  }
  if (problems.length > 0) throw InvalidSpec(`architecture ${architectureId(arch)}: ${problems.join('; ')}`)
  return arch
}

/** Uniform random member of the space (downsampling chosen only where allowed). */
export function sampleArchitecture(rng: Rng, space: SearchSpace = DEFAULT_SPACE): Architecture {
  const depth = space.minBlocks + rng.int(space.maxBlocks - space.minBlocks + 1)
  const g = rng.pick(space.multipliers)
  const blocks: ArchBlock[] = []
  let shape: Shape3 = { ...space.input }
  for (let i = 0; i < depth; i++) {
    const op = rng.pick(space.ops)
    const downs = canDownsample(shape) ? space.downsamples : space.downsamples.filter((d) => d === 'none')
    const b: ArchBlock = { op, kernel: rng.pick(space.kernels), width: rng.pick(space.widths), down: rng.pick(downs) }
    if (op === 'mbconv') b.expand = rng.pick(space.expands)
    blocks.push(b)
    shape = outputShape(layerBlock(b, g, shape))
  }
  return { g, blocks }
}

/**
 * `count` distinct random members of the space, in draw order. Bounded: a space smaller than
 * `count` (or one that keeps repeating) yields what 50 draws per wanted member found.
 */
export function sampleArchitectures(rng: Rng, count: number, space: SearchSpace = DEFAULT_SPACE): Architecture[] {
  const out = new Map<string, Architecture>()
  for (let tries = 0; out.size < count && tries < 50 * count; tries++) {
    const a = sampleArchitecture(rng, space)
    const id = architectureId(a)
    if (!out.has(id)) out.set(id, a)
  }
  return [...out.values()]
}

/**
 * Every block key a LUT for `space` needs: a walk over every reachable (depth, input shape)
 * state under every multiplier, deduplicated. Sorted for stable output.
 */
export function spaceBlockKeys(space: SearchSpace = DEFAULT_SPACE): string[] {
  return [...spaceBlocks(space).keys()].sort()
}

export function spaceBlocks(space: SearchSpace = DEFAULT_SPACE): Map<string, BlockSpec> {
  const blocks = new Map<string, BlockSpec>()
  const add = (b: BlockSpec) => {
    const key = blockKey(b)
    if (!blocks.has(key)) blocks.set(key, b)
  }
  for (const g of space.multipliers) {
    let frontier = new Map<string, Shape3>([[`${space.input.h}x${space.input.w}x${space.input.c}`, space.input]])
    for (let depth = 1; depth <= space.maxBlocks; depth++) {
      const next = new Map<string, Shape3>()
      for (const shape of frontier.values()) {
        for (const op of space.ops)
          for (const kernel of space.kernels)
            for (const width of space.widths)
              for (const down of space.downsamples) {
                if (down !== 'none' && !canDownsample(shape)) continue
                for (const expand of op === 'mbconv' ? space.expands : [undefined]) {
                  const spec = layerBlock({ op, kernel, width, down, expand }, g, shape)
                  add(spec)
                  const out = outputShape(spec)
                  if (depth >= space.minBlocks) add({ op: 'head', input: out, classes: space.classes })
                  next.set(`${out.h}x${out.w}x${out.c}`, out)
                }
              }
      }
      frontier = next
    }
  }
  return blocks
}

export { convOut, poolOut }
