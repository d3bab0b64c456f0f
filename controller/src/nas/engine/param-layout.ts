/**
 * Where each trainable parameter of an architecture lives in one flat Float32Array. Names and
 * order come from shared's `emitBlock` itself (run against a throwaway graph), so they are exactly
 * the names `buildArchitectureModel({ params })` asks for when a trained model is exported.
 *
 * Layouts are those the ONNX graphs consume: conv weights [cout, cin/group, k, k], BN gamma/beta
 * [C], `head.fc.weight` as Gemm's B operand [cin, classes] (note: transposed against the
 * [classes, cin] dims the ParamSource is called with), `head.fc.bias` [classes].
 */
import {
  OnnxGraph,
  architectureBlocks,
  createRng,
  emitBlock,
  isHead,
  type Architecture,
  type BlockSpec,
  type ParamRole,
  type Rng,
  type SearchSpace,
} from '@fleetnas/shared'

export type TrainableRole = Exclude<ParamRole, 'mean' | 'var'>

export interface ParamEntry {
  name: string
  role: TrainableRole
  dims: number[]
  offset: number
  size: number
}

export interface ParamLayout {
  entries: ParamEntry[]
  byName: Map<string, ParamEntry>
  /** Total number of float32 values. */
  size: number
  /** Batch-norm layers by prefix (e.g. `b0.conv`), in forward order. */
  batchNorms: string[]
}

export type SpaceIO = Pick<SearchSpace, 'input' | 'classes'>

export function blockPrefix(b: BlockSpec, i: number): string {
  return isHead(b) ? 'head' : `b${i}`
}

export function paramLayout(blocks: BlockSpec[]): ParamLayout {
  const entries: ParamEntry[] = []
  const batchNorms: string[] = []
  let offset = 0
  const scratch = new OnnxGraph('layout')
  const record = (name: string, dims: number[], role: ParamRole): string => {
    if (role === 'mean') batchNorms.push(name.slice(0, -'.mean'.length))
    if (role === 'mean' || role === 'var') return name
    const d = role === 'fc' ? [dims[1], dims[0]] : dims
    const size = d.reduce((a, b) => a * b, 1)
    entries.push({ name, role, dims: d, offset, size })
    offset += size
    return name
  }
  const x = scratch.input('x', [1, 1, 1, 1])
  blocks.forEach((b, i) => emitBlock(scratch, b, x, record, blockPrefix(b, i)))
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), size: offset, batchNorms }
}

export function architectureLayout(arch: Architecture, space?: SpaceIO): ParamLayout {
  return paramLayout(architectureBlocks(arch, space))
}

/** He-normal conv and fc weights, gamma 1, beta and bias 0; deterministic per generator. */
export function initParams(layout: ParamLayout, rng: Rng = createRng(1)): Float32Array {
  const p = new Float32Array(layout.size)
  for (const e of layout.entries) {
    const view = p.subarray(e.offset, e.offset + e.size)
    if (e.role === 'conv' || e.role === 'fc') {
      const fanIn = e.role === 'conv' ? e.dims[1] * e.dims[2] * e.dims[3] : e.dims[0]
      const std = Math.sqrt(2 / fanIn)
      for (let i = 0; i < view.length; i++) view[i] = rng.normal() * std
    } else if (e.role === 'gamma') view.fill(1)
  }
  return p
}

export function paramView(layout: ParamLayout, params: Float32Array, name: string): Float32Array {
  const e = layout.byName.get(name)
  if (!e) throw new Error(`no parameter ${name}`)
  return params.subarray(e.offset, e.offset + e.size)
}
