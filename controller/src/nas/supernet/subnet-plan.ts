/**
 * Gather/scatter plans between a supernet's shared weights and one sub-network's flat parameters
 * (engine/param-layout.ts). A sub-network takes, of the shared tensor of each of its (slot, op,
 * part), the leading output and input channels and the centre of the kernel (Once-for-All weight
 * sharing). The plan lists that mapping as runs of consecutive values (sub-network offset, shared
 * offset, length): a kernel row, or more where rows join up (a full-size kernel, a 1x1 conv's
 * input channels, a BN vector). Gathering the parameters and adding gradients back into the same
 * slices are then tight copy loops over the runs.
 *
 * Every value of a sub-network but its head maps to exactly one shared value; the head has no
 * shared weights (zero head, see supernet-layout.ts) and is gathered as zeros.
 */
import type { Network } from '../engine/engine.ts'
import { SubnetNotInSpace } from './errors.ts'
import { sharedName, type SupernetLayout } from './supernet-layout.ts'

export interface SubnetPlan {
  architectureId: string
  /** Values of the sub-network's parameters (its layout size, head included). */
  size: number
  /** Triples: sub-network offset, shared offset, length. */
  runs: Int32Array
  /** Pairs: offset, length of the sub-network's values with no shared weights (the head). */
  zeros: Int32Array
}

const PREFIX = /^b(\d+)\.(.+)$/

export function subnetPlan(layout: SupernetLayout, net: Network): SubnetPlan {
  const fail = (why: string) => SubnetNotInSpace(net.id, why)
  if (net.space.input.c !== layout.space.input.c) throw fail(`it takes ${net.space.input.c}-channel images, the supernet ${layout.space.input.c}`)
  if (net.arch.blocks.length > layout.space.maxBlocks) throw fail(`${net.arch.blocks.length} blocks, the supernet has ${layout.space.maxBlocks} slots`)
  const runs: number[] = []
  const zeros: number[] = []
  const push = (sub: number, shared: number, length: number) => {
    const n = runs.length
    // Join a run that continues the previous one on both sides.
    if (n > 0 && runs[n - 3] + runs[n - 1] === sub && runs[n - 2] + runs[n - 1] === shared) runs[n - 1] += length
    else runs.push(sub, shared, length)
  }
  for (const e of net.layout.entries) {
    if (e.name.startsWith('head.')) {
      zeros.push(e.offset, e.size)
      continue
    }
    const m = PREFIX.exec(e.name)
    if (!m) throw fail(`parameter ${e.name} belongs to no block`)
    const slot = Number(m[1])
    const s = layout.byName.get(sharedName(slot, net.arch.blocks[slot].op, m[2]))
    if (!s) throw fail(`no shared weights for ${e.name} (${net.arch.blocks[slot].op} in slot ${slot})`)
    if (e.dims.length !== s.dims.length || e.dims.some((d, i) => d > s.dims[i])) throw fail(`${e.name} [${e.dims}] does not fit ${s.name} [${s.dims}]`)
    if (e.dims.length === 1) {
      push(e.offset, s.offset, e.size)
    } else if (e.dims.length === 4) {
      const [co, ci, k] = e.dims
      const [, CI, K] = s.dims
      const d = (K - k) / 2
      if (!Number.isInteger(d)) throw fail(`kernel ${k} has no centre in ${K}`)
      for (let o = 0; o < co; o++)
        for (let c = 0; c < ci; c++)
          for (let y = 0; y < k; y++) push(e.offset + ((o * ci + c) * k + y) * k, s.offset + ((o * CI + c) * K + y + d) * K + d, k)
    } else {
      throw fail(`${e.name} has ${e.dims.length} dims`)
    }
  }
  return { architectureId: net.id, size: net.layout.size, runs: Int32Array.from(runs), zeros: Int32Array.from(zeros) }
}

/** The sub-network's parameters, read from `shared` (written into `out`, which is returned). */
export function gatherParams(plan: SubnetPlan, shared: Float32Array, out: Float32Array = new Float32Array(plan.size)): Float32Array {
  if (out.length !== plan.size) throw new RangeError(`gather into ${out.length} values, the sub-network has ${plan.size}`)
  const r = plan.runs
  for (let i = 0; i < r.length; i += 3) {
    const d = r[i]
    const s = r[i + 1]
    const n = r[i + 2]
    if (n >= 64) out.set(shared.subarray(s, s + n), d)
    else for (let j = 0; j < n; j++) out[d + j] = shared[s + j]
  }
  const z = plan.zeros
  for (let i = 0; i < z.length; i += 2) out.fill(0, z[i], z[i] + z[i + 1])
  return out
}

/** Adds the sub-network's gradients (`grads`, its layout) into the shared slices they came from. */
export function scatterAdd(plan: SubnetPlan, grads: Float32Array, into: Float32Array): void {
  if (grads.length !== plan.size) throw new RangeError(`scatter ${grads.length} values, the sub-network has ${plan.size}`)
  const r = plan.runs
  for (let i = 0; i < r.length; i += 3) {
    const d = r[i]
    const s = r[i + 1]
    const n = r[i + 2]
    for (let j = 0; j < n; j++) into[s + j] += grads[d + j]
  }
}
