/**
 * The compute cap of supernet training (config.ts computeCap): what a sub-network costs to train,
 * relative to Conv4 at the same input, as two figures that are both capped: multiply-accumulates
 * and activation values (the values its layers write per image: every conv, depthwise and 1x1
 * output and every pool output). Training time on ONNX Runtime follows the activations as much as
 * the MACs (batch norm, ReLU and their gradients are passes over them): on 31 random sub-networks
 * (28x28, 5-way 1-shot, 15 queries, 5 inner steps, 1 thread) a least-squares fit of the task time
 * gave 74 ms per Conv4 of MACs and 154 ms per Conv4 of activations (R^2 0.90), and a MACs-only cap
 * of 2 let through sub-networks with 3.9 times Conv4's activations that took 5.6 times its time.
 * Inference latency on the devices follows the same two, so the cap also keeps training to the
 * sub-networks a search for Conv4's latency or less can return.
 */
import {
  CONV4,
  architectureBlocks,
  architectureMacs,
  canDownsample,
  convOutputShape,
  expandedChannels,
  isHead,
  outputShape,
  poolOut,
  type ArchBlock,
  type Architecture,
  type SearchSpace,
  type Shape3,
} from '@fleetnas/shared'

type SpaceIO = Pick<SearchSpace, 'input' | 'classes'>

export interface TrainingCost {
  macs: number
  activations: number
}

/** Values the architecture's layers write per image. */
export function architectureActivations(arch: Architecture, space: SpaceIO): number {
  let n = 0
  for (const b of architectureBlocks(arch, space)) {
    if (isHead(b)) continue
    const out = convOutputShape(b)
    const plane = out.h * out.w
    if (b.op === 'conv') n += plane * b.outChannels
    else if (b.op === 'dwsep') n += plane * (b.input.c + b.outChannels)
    else {
      const e = expandedChannels(b)
      n += b.input.h * b.input.w * e + plane * (e + b.outChannels)
    }
    if (b.pool) {
      const pooled = outputShape(b)
      n += pooled.h * pooled.w * pooled.c
    }
  }
  return n
}

export function trainingCost(arch: Architecture, space: SpaceIO): TrainingCost {
  return { macs: architectureMacs(arch, space), activations: architectureActivations(arch, space) }
}

/** Conv4 at this input (a max-pool the map cannot take becomes none). */
export function conv4Architecture(space: SpaceIO): Architecture {
  const blocks: ArchBlock[] = []
  let shape: Shape3 = { ...space.input }
  for (const b of CONV4.blocks) {
    const pool = b.down === 'maxpool' && canDownsample(shape)
    blocks.push({ ...b, down: pool ? 'maxpool' : 'none' })
    if (pool) shape = { ...shape, h: poolOut(shape.h), w: poolOut(shape.w) }
  }
  return { g: CONV4.g, blocks }
}

/** Cost relative to Conv4's at the same input (Conv4 = 1, 1). */
export function relativeCost(arch: Architecture, space: SpaceIO): TrainingCost {
  const ref = trainingCost(conv4Architecture(space), space)
  const c = trainingCost(arch, space)
  return { macs: c.macs / ref.macs, activations: c.activations / ref.activations }
}
