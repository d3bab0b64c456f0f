/**
 * ONNX graphs for blocks, heads and whole architectures, in inference form (BatchNormalization with
 * running statistics, as deployed). What agents measure is exactly what the controller exports.
 *
 * Layer structure (NCHW, same padding floor(k/2)):
 *   conv   : kxk Conv(stride) - BN - ReLU
 *   dwsep  : kxk depthwise Conv(stride) - BN - ReLU - 1x1 Conv - BN - ReLU
 *   mbconv : 1x1 Conv (cin*e) - BN - ReLU - kxk depthwise Conv(stride) - BN - ReLU - 1x1 Conv - BN
 *            (+ input when stride 1 and cin == cout)
 *   then 2x2 MaxPool stride 2 when `pool`;
 *   head   : GlobalAveragePool - Flatten - Gemm (classes).
 *
 * Parameter names are stable (`b{i}.{part}.{weight|gamma|beta|mean|var|bias}`) so trained weights
 * can be loaded into an export by name.
 */
import { createRng, type Rng } from '../random.ts'
import { expandedChannels, hasResidual, isHead, outputShape, type BlockSpec, type LayerBlockSpec } from '../blocks/block-spec.ts'
import { architectureBlocks, type Architecture, type SearchSpace, DEFAULT_SPACE } from '../space/search-space.ts'
import { OnnxGraph } from './graph.ts'

export type ParamRole = 'conv' | 'gamma' | 'beta' | 'mean' | 'var' | 'fc' | 'bias'

/**
 * Supplies a tensor name for a parameter: an initializer (inference) or a graph input (training).
 * `dims` are the logical dims: conv [cout, cin/group, k, k], BN and bias [c], fc [classes, channels].
 * The fc tensor itself must be Gemm's B operand, [channels, classes]: transpose `dims` for it
 * (as `randomParams` does and the training engine's layout expects).
 */
export type ParamSource = (name: string, dims: number[], role: ParamRole) => string

/**
 * He-scaled weights (variance 2 / fanIn, as He-normal), BN identity statistics; deterministic per
 * seed. The weights are uniform on [-a, a] with a = sqrt(3 * 2 / fanIn), filled by `fillUniform`
 * from one seed per tensor drawn from `rng`: a Box-Muller normal per weight through `rng` was most
 * of an agent's per-block preparation (8-12 ms). Latency does not depend on the weights'
 * distribution, only on them being dense and normal floats (no zeros, no denormals).
 * The fc weights are drawn directly in Gemm's [channels, classes] layout (iid: no transpose needed).
 */
export function randomParams(graph: OnnxGraph, rng: Rng = createRng(7)): ParamSource {
  return (name, dims, role) => {
    const size = dims.reduce((a, b) => a * b, 1)
    const data = new Float32Array(size)
    if (role === 'conv' || role === 'fc') {
      const fanIn = role === 'conv' ? dims[1] * dims[2] * dims[3] : dims[1]
      fillUniform(data, Math.sqrt(6 / fanIn), rng.int(4294967296))
    } else if (role === 'gamma' || role === 'var') data.fill(1)
    return graph.floatInit(name, role === 'fc' ? [dims[1], dims[0]] : dims, data)
  }
}

/**
 * Fills `data` with uniform values in [-bound, bound] from a xorshift32 stream seeded by `seed`
 * (about 1 ns per value). The smallest magnitude is bound / 2^32, far above float32 denormals, and
 * no value is exactly zero.
 */
export function fillUniform(data: Float32Array, bound: number, seed: number): void {
  let s = seed | 0 || 0x9e3779b9 // xorshift32 must not start at 0
  const scale = (2 * bound) / 4294967296
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    data[i] = ((s >>> 0) + 0.5) * scale - bound
  }
}

function convBnRelu(
  g: OnnxGraph,
  x: string,
  p: ParamSource,
  prefix: string,
  cin: number,
  cout: number,
  k: number,
  stride: number,
  group: number,
  relu: boolean,
): string {
  const pad = Math.floor(k / 2)
  const w = p(`${prefix}.weight`, [cout, cin / group, k, k], 'conv')
  let y = g.op('Conv', [x, w], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group })
  const bn = ['gamma', 'beta', 'mean', 'var'].map((r) => p(`${prefix}.${r}`, [cout], r as ParamRole))
  y = g.op('BatchNormalization', [y, ...bn], { epsilon: { float: 1e-5 } })
  return relu ? g.op('Relu', [y]) : y
}

/** Emits one block's nodes after tensor `x`; returns the output tensor name. */
export function emitBlock(g: OnnxGraph, b: BlockSpec, x: string, p: ParamSource, prefix: string): string {
  if (isHead(b)) {
    const pooled = g.op('GlobalAveragePool', [x])
    const flat = g.op('Flatten', [pooled], { axis: 1 })
    const w = p(`${prefix}.fc.weight`, [b.classes, b.input.c], 'fc')
    const bias = p(`${prefix}.fc.bias`, [b.classes], 'bias')
    return g.op('Gemm', [flat, w, bias])
  }
  return emitLayer(g, b, x, p, prefix)
}

function emitLayer(g: OnnxGraph, b: LayerBlockSpec, x: string, p: ParamSource, prefix: string): string {
  const cin = b.input.c
  const cout = b.outChannels
  let y: string
  switch (b.op) {
    case 'conv':
      y = convBnRelu(g, x, p, `${prefix}.conv`, cin, cout, b.kernel, b.stride, 1, true)
      break
    case 'dwsep':
      y = convBnRelu(g, x, p, `${prefix}.dw`, cin, cin, b.kernel, b.stride, cin, true)
      y = convBnRelu(g, y, p, `${prefix}.pw`, cin, cout, 1, 1, 1, true)
      break
    case 'mbconv': {
      const e = expandedChannels(b)
      y = convBnRelu(g, x, p, `${prefix}.expand`, cin, e, 1, 1, 1, true)
      y = convBnRelu(g, y, p, `${prefix}.dw`, e, e, b.kernel, b.stride, e, true)
      y = convBnRelu(g, y, p, `${prefix}.project`, e, cout, 1, 1, 1, false)
      if (hasResidual(b)) y = g.op('Add', [y, x])
      break
    }
  }
  if (b.pool) y = g.op('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] })
  return y
}

export interface BuiltModel {
  bytes: Uint8Array
  inputName: string
  inputDims: number[]
  outputName: string
  outputDims: number[]
}

/** One block as a standalone model with random weights: what an agent times. */
export function buildBlockModel(
  b: BlockSpec,
  opts: { batch?: number; seed?: number; params?: (g: OnnxGraph) => ParamSource } = {},
): BuiltModel {
  const batch = opts.batch ?? 1
  const g = new OnnxGraph('block')
  const p = opts.params ? opts.params(g) : randomParams(g, createRng(opts.seed ?? 7))
  const inputDims = isHead(b) ? [batch, b.input.c, b.input.h, b.input.w] : [batch, b.input.c, b.input.h, b.input.w]
  const x = g.input('x', inputDims)
  const y = emitBlock(g, b, x, p, 'b0')
  const out = outputShape(b)
  const outputDims = isHead(b) ? [batch, b.classes] : [batch, out.c, out.h, out.w]
  g.op('Identity', [y], {}, 'y')
  g.output('y', outputDims)
  return { bytes: g.toBytes(), inputName: 'x', inputDims, outputName: 'y', outputDims }
}

/** The smallest graph (Identity on the block's input): its run time is the per-call overhead. */
export function buildEmptyModel(inputDims: number[]): BuiltModel {
  const g = new OnnxGraph('empty')
  const x = g.input('x', inputDims)
  g.op('Identity', [x], {}, 'y')
  g.output('y', inputDims)
  return { bytes: g.toBytes(), inputName: 'x', inputDims, outputName: 'y', outputDims: inputDims }
}

/**
 * A whole architecture (all blocks and the head). `params` defaults to random weights; pass a
 * source that reads trained values to export an adapted model.
 */
export function buildArchitectureModel(
  arch: Architecture,
  opts: { space?: Pick<SearchSpace, 'input' | 'classes'>; batch?: number | string; params?: (g: OnnxGraph) => ParamSource; seed?: number } = {},
): BuiltModel {
  const space = opts.space ?? DEFAULT_SPACE
  const batch = opts.batch ?? 1
  const g = new OnnxGraph('architecture')
  const p = opts.params ? opts.params(g) : randomParams(g, createRng(opts.seed ?? 7))
  const inputDims = [batch, space.input.c, space.input.h, space.input.w]
  let y = g.input('x', inputDims)
  architectureBlocks(arch, space).forEach((b, i) => {
    y = emitBlock(g, b, y, p, isHead(b) ? 'head' : `b${i}`)
  })
  g.op('Identity', [y], {}, 'logits')
  g.output('logits', [batch, space.classes])
  return {
    bytes: g.toBytes(),
    inputName: 'x',
    inputDims: inputDims.map((d) => (typeof d === 'number' ? d : 1)),
    outputName: 'logits',
    outputDims: [typeof batch === 'number' ? batch : 1, space.classes],
  }
}
