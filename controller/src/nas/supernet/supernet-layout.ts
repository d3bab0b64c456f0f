/**
 * The shared weights of a supernet over a search space: one tensor per (slot, op, part), named
 * `s{slot}.{op}.{part}` (e.g. `s1.mbconv.dw.weight` beside `s1.dwsep.dw.weight`: the two depthwise
 * convs a single architecture's layout would both call `b1.dw`), at the largest shape any
 * architecture of the space can ask for in that slot: out channels at the widest scaled width, in
 * channels at the widest output of the slot before (the image channels in slot 0), the largest
 * kernel and the largest expansion. BN gamma and beta are (slot, op, part) tensors too.
 *
 * The parts and their order come from shared's `emitBlock` (through paramLayout) run on that
 * largest block, so they are exactly the parts a sub-network's layout names.
 *
 * The classifier head has no shared weights: the supernet is trained with the zero head (every
 * task starts from a zero classifier, see maml/config.ts zeroHead), so a sub-network's head is zero
 * whatever its width and way.
 */
import { createRng, scaledWidth, type BlockOp, type LayerBlockSpec, type Rng, type SearchSpace } from '@fleetnas/shared'
import { paramLayout, type TrainableRole } from '../engine/param-layout.ts'
import { SupernetSpaceUnsupported } from './errors.ts'

export interface SharedEntry {
  /** `s{slot}.{op}.{part}` */
  name: string
  slot: number
  op: BlockOp
  /** The part as a sub-network names it after its `b{i}.` prefix, e.g. `dw.weight`. */
  part: string
  role: TrainableRole
  /** Largest dims: conv [cout, cin/group, k, k], BN [c]. */
  dims: number[]
  offset: number
  size: number
}

export interface SupernetLayout {
  space: SearchSpace
  entries: SharedEntry[]
  byName: Map<string, SharedEntry>
  /** Total number of float32 values. */
  size: number
  /** Widest scaled width (base width x multiplier), largest kernel and expansion of the space. */
  maxWidth: number
  maxKernel: number
  maxExpand: number
}

/** Initial gamma of mbconv's last batch norm (see initSupernetParams). */
const PROJECT_GAMMA = 0.1

export const sharedName = (slot: number, op: BlockOp, part: string) => `s${slot}.${op}.${part}`

export function supernetLayout(space: SearchSpace): SupernetLayout {
  const problems: string[] = []
  if (space.ops.length === 0) problems.push('no ops')
  if (space.kernels.length === 0 || space.kernels.some((k) => k % 2 !== 1))
    problems.push(`kernels must all be odd to share centres, got ${space.kernels.join('|')}`)
  if (space.widths.length === 0 || space.multipliers.length === 0) problems.push('no widths or multipliers')
  if (space.ops.includes('mbconv') && space.expands.length === 0) problems.push('mbconv without expansions')
  if (problems.length > 0) throw SupernetSpaceUnsupported(problems.join('; '))
  const maxWidth = Math.max(...space.widths.flatMap((w) => space.multipliers.map((g) => scaledWidth(w, g))))
  const maxKernel = Math.max(...space.kernels)
  const maxExpand = space.ops.includes('mbconv') ? Math.max(...space.expands) : 1
  const entries: SharedEntry[] = []
  let offset = 0
  for (let slot = 0; slot < space.maxBlocks; slot++) {
    const cin = slot === 0 ? space.input.c : maxWidth
    for (const op of space.ops) {
      const widest: LayerBlockSpec = {
        op,
        kernel: maxKernel,
        stride: 1,
        pool: false,
        input: { c: cin, h: maxKernel, w: maxKernel },
        outChannels: maxWidth,
        ...(op === 'mbconv' ? { expand: maxExpand } : {}),
      }
      for (const e of paramLayout([widest]).entries) {
        const part = e.name.slice('b0.'.length)
        entries.push({ name: sharedName(slot, op, part), slot, op, part, role: e.role, dims: e.dims, offset, size: e.size })
        offset += e.size
      }
    }
  }
  return { space, entries, byName: new Map(entries.map((e) => [e.name, e])), size: offset, maxWidth, maxKernel, maxExpand }
}

/**
 * Initial shared weights: conv weights He-normal for the fan-in of the smallest kernel at the full
 * input width (a batch norm follows every conv, so the scale only sets how far an update moves a
 * sub-network; this keeps it near a stand-alone network's for the small kernels most sub-networks
 * use), beta 0, gamma 1 except mbconv's last BN (`project`, no ReLU after it, added to the block's
 * input when shapes match): gamma 0.1, so a stack of residual blocks starts near the identity (as
 * ResNets zero their last BN, Goyal et al. 2017; 0 would silence the blocks without a residual).
 * With gamma 1 a stack of mbconv blocks does not survive MAML's inner loop at lr 0.4 with the zero
 * head: its summed residual features make the first step's logits hundreds (a five-block g2 mbconv
 * on 16x16 glyphs kept a query loss of about 230 after 40 meta-iterations; at 0.1 it was 1.2).
 * Deterministic per generator.
 */
export function initSupernetParams(layout: SupernetLayout, rng: Rng = createRng(1)): Float32Array {
  const p = new Float32Array(layout.size)
  const kMin = Math.min(...layout.space.kernels)
  for (const e of layout.entries) {
    const view = p.subarray(e.offset, e.offset + e.size)
    if (e.role === 'conv') {
      const k = Math.min(kMin, e.dims[2])
      const std = Math.sqrt(2 / (e.dims[1] * k * k))
      for (let i = 0; i < view.length; i++) view[i] = rng.normal() * std
    } else if (e.role === 'gamma') view.fill(e.op === 'mbconv' && e.part === 'project.gamma' ? PROJECT_GAMMA : 1)
  }
  return p
}
