/**
 * Test and benchmark fixture: a search problem with a known answer. The accuracy is a fixed
 * function of the architecture (capacity from widths, op and kernel; depth and final map size
 * penalised), the latency a MACs-based stand-in for a LUT (per-op cost per MAC plus a per-block
 * and per-call overhead). Not a model of any real network.
 */
import { architectureBlocks, architectureParams, blockMacs, isHead, type Architecture, type LayerBlockSpec } from '@fleetnas/shared'

const OP_QUALITY = { conv: 1, dwsep: 0.8, mbconv: 0.9 } as const
const KERNEL_QUALITY: Record<number, number> = { 3: 1, 5: 1.05, 7: 1.08 }
/** ms per million MACs by op: depthwise work runs slower per MAC than dense convolution. */
const MS_PER_MMAC = { conv: 1, dwsep: 2, mbconv: 1.5 } as const

export function syntheticAccuracy(arch: Architecture): number {
  const blocks = architectureBlocks(arch)
  let capacity = 0
  for (const b of blocks) {
    if (isHead(b)) continue
    const quality = OP_QUALITY[b.op] + (b.op === 'mbconv' && b.expand === 4 ? 0.05 : 0)
    capacity += quality * (KERNEL_QUALITY[b.kernel] ?? 1) * Math.log2(b.outChannels)
  }
  const finalSide = blocks[blocks.length - 1].input.h
  const depth = arch.blocks.length
  return 0.2 + 0.75 * (1 - Math.exp(-capacity / 12)) - 0.04 * Math.log2(finalSide) - 0.02 * (depth - 4) ** 2
}

/** Latency stand-in, in ms: 10 us per call, 4 us per block, and each block's MACs at its op's rate. */
export function macsLatencyMs(arch: Architecture): number {
  let ms = 0.01
  for (const b of architectureBlocks(arch)) ms += 0.004 + (blockMacs(b) / 1e6) * (isHead(b) ? 1 : MS_PER_MMAC[(b as LayerBlockSpec).op])
  return ms
}

/**
 * A harder target for the predictor: few-shot over-fitting makes accuracy peak at a medium
 * parameter count, and a 7x7 kernel helps only in a first block that does not downsample.
 */
export function peakedAccuracy(arch: Architecture): number {
  const over = Math.max(0, Math.log2(architectureParams(arch)) - 15)
  const wideFirstKernel = arch.blocks[0].kernel === 7 && arch.blocks[0].down === 'none' ? 0.03 : 0
  return syntheticAccuracy(arch) - 0.02 * over ** 2 + wideFirstKernel
}
