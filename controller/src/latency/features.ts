/**
 * What the latency model sees of an architecture on one LUT: its blocks' LUT rows walked once
 * (`architectureBlocks`) into named features. The net medians carry the compute; the rest carries
 * what a sum of blocks timed alone gets wrong about the same blocks run as one graph: each block
 * alone pays for moving its input and output across the session boundary (layout reorders, output
 * copies, roughly in proportion to the activations), and the overhead subtracted from each block was
 * measured on its own input shape.
 */
import { architectureBlocks, blockKey, isHead, outputShape, type Architecture, type BlockSpec, type SearchSpace } from '@fleetnas/shared'

/** A LUT row as the model reads it. */
export interface LutRow {
  medianMs: number
  overheadMs: number | null
  ciLowMs: number | null
  ciHighMs: number | null
  belowOverhead: boolean
}

export type LutLookup = (key: string) => LutRow | undefined

export const FEATURES = [
  'net.conv',
  'net.dwsep',
  'net.mbconv',
  'net.head',
  'blocks.conv',
  'blocks.dwsep',
  'blocks.mbconv',
  'act.in.conv',
  'act.out.conv',
  'act.in.dwsep',
  'act.out.dwsep',
  'act.in.mbconv',
  'act.out.mbconv',
  'overhead.blocks',
  'const',
] as const
export type FeatureName = (typeof FEATURES)[number]

/** What the bare sum assumes: every net median counts once, nothing else but one call's overhead. */
export function sumPrior(callOverheadMs: number): number[] {
  return FEATURES.map((f) => (f.startsWith('net.') ? 1 : f === 'const' ? callOverheadMs : 0))
}

export interface ArchitectureFeatures {
  /** In FEATURES order. */
  values: number[]
  /** Sum of the blocks' net medians (ms). */
  blockSumMs: number
  /** The interval of that sum from the rows' intervals (ms), when every row has one. */
  blockSumLowMs: number | null
  blockSumHighMs: number | null
  blocks: string[]
  /** Block keys the LUT lacks: no prediction without them. */
  missing: string[]
  /** Blocks faster than the call overhead resolves (counted as 0 ms). */
  belowOverhead: string[]
}

/** Activation elements in millions, the unit of the act.* features. */
const melems = (s: { h: number; w: number; c: number }) => (s.h * s.w * s.c) / 1e6

export function architectureFeatures(arch: Architecture, lookup: LutLookup, space?: Pick<SearchSpace, 'input' | 'classes'>): ArchitectureFeatures {
  const specs: BlockSpec[] = architectureBlocks(arch, space)
  const f = new Map<FeatureName, number>(FEATURES.map((n) => [n, 0]))
  const add = (name: FeatureName, v: number) => f.set(name, f.get(name)! + v)
  const out: ArchitectureFeatures = { values: [], blockSumMs: 0, blockSumLowMs: 0, blockSumHighMs: 0, blocks: [], missing: [], belowOverhead: [] }
  for (const b of specs) {
    const key = blockKey(b)
    out.blocks.push(key)
    const row = lookup(key)
    if (!row) {
      out.missing.push(key)
      continue
    }
    const net = row.belowOverhead ? 0 : row.medianMs
    if (row.belowOverhead) out.belowOverhead.push(key)
    out.blockSumMs += net
    out.blockSumLowMs = row.ciLowMs === null || out.blockSumLowMs === null ? null : out.blockSumLowMs + (row.belowOverhead ? 0 : row.ciLowMs)
    out.blockSumHighMs = row.ciHighMs === null || out.blockSumHighMs === null ? null : out.blockSumHighMs + row.ciHighMs
    add('overhead.blocks', row.overheadMs ?? 0)
    if (isHead(b)) {
      add('net.head', net)
      continue
    }
    add(`net.${b.op}`, net)
    add(`blocks.${b.op}`, 1)
    add(`act.in.${b.op}`, melems(b.input))
    add(`act.out.${b.op}`, melems(outputShape(b)))
  }
  f.set('const', 1)
  out.values = FEATURES.map((n) => f.get(n)!)
  return out
}
