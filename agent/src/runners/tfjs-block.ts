/**
 * Builds a measurement target from tfjs ops (NHWC) with random weights, mirroring the ONNX block
 * structure of shared/onnx/block-model.ts: conv-BN-ReLU, dwsep, mbconv (+ residual), 2x2 max-pool,
 * head = global average pool + dense. tfjs 'same' padding equals the ONNX builder's floor(k/2) for
 * the odd kernels of the space.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'
import {
  architectureBlocks,
  expandedChannels,
  hasResidual,
  isHead,
  type BlockSpec,
  type LayerBlockSpec,
} from '@fleetnas/shared'
import type { MeasureTarget } from './runner.ts'

type Tf = typeof tfTypes
type T4 = tfTypes.Tensor4D

export interface TfjsModel {
  /** NHWC input. */
  input: tfTypes.Tensor
  /** NCHW dims of the same input (what the ONNX side calls it). */
  inputDims: number[]
  forward(x: tfTypes.Tensor): tfTypes.Tensor
  weights: tfTypes.Tensor[]
}

export function buildTfjsModel(tf: Tf, target: MeasureTarget): TfjsModel {
  const weights: tfTypes.Tensor[] = []
  const keep = <T extends tfTypes.Tensor>(t: T): T => {
    weights.push(t)
    return t
  }
  const he = (shape: number[], fanIn: number) => keep(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', 7))
  const vec = (t: tfTypes.Tensor) => keep(t) as tfTypes.Tensor1D
  const bnParams = (c: number) => ({
    mean: vec(tf.zeros([c])),
    variance: vec(tf.ones([c])),
    offset: vec(tf.zeros([c])),
    scale: vec(tf.ones([c])),
  })
  const bn = (x: T4, p: ReturnType<typeof bnParams>) => tf.batchNorm4d(x, p.mean, p.variance, p.offset, p.scale, 1e-5)

  const layer = (b: LayerBlockSpec): ((x: T4) => T4) => {
    const cin = b.input.c
    const cout = b.outChannels
    const k = b.kernel
    const s = b.stride
    let body: (x: T4) => T4
    if (b.op === 'conv') {
      const w = he([k, k, cin, cout], cin * k * k) as tfTypes.Tensor4D
      const p = bnParams(cout)
      body = (x) => tf.relu(bn(tf.conv2d(x, w, s, 'same'), p))
    } else if (b.op === 'dwsep') {
      const dw = he([k, k, cin, 1], k * k) as tfTypes.Tensor4D
      const p1 = bnParams(cin)
      const pw = he([1, 1, cin, cout], cin) as tfTypes.Tensor4D
      const p2 = bnParams(cout)
      body = (x) => tf.relu(bn(tf.conv2d(tf.relu(bn(tf.depthwiseConv2d(x, dw, s, 'same'), p1)), pw, 1, 'same'), p2))
    } else {
      const e = expandedChannels(b)
      const ex = he([1, 1, cin, e], cin) as tfTypes.Tensor4D
      const p1 = bnParams(e)
      const dw = he([k, k, e, 1], k * k) as tfTypes.Tensor4D
      const p2 = bnParams(e)
      const pr = he([1, 1, e, cout], e) as tfTypes.Tensor4D
      const p3 = bnParams(cout)
      const residual = hasResidual(b)
      body = (x) => {
        let y = tf.relu(bn(tf.conv2d(x, ex, 1, 'same'), p1))
        y = tf.relu(bn(tf.depthwiseConv2d(y, dw, s, 'same'), p2))
        y = bn(tf.conv2d(y, pr, 1, 'same'), p3)
        return residual ? tf.add(y, x) : y
      }
    }
    return b.pool ? (x) => tf.maxPool(body(x), 2, 2, 'valid') : body
  }

  const block = (b: BlockSpec): ((x: T4) => tfTypes.Tensor) => {
    if (!isHead(b)) return layer(b)
    const w = he([b.input.c, b.classes], b.input.c) as tfTypes.Tensor2D
    const bias = keep(tf.zeros([b.classes]))
    return (x) => tf.add(tf.matMul(tf.mean(x, [1, 2]) as tfTypes.Tensor2D, w), bias)
  }

  let specs: BlockSpec[]
  let nchw: number[]
  if (target.kind === 'empty') {
    specs = []
    nchw = target.inputDims
  } else {
    specs = target.kind === 'block' ? [target.spec] : architectureBlocks(target.arch)
    const i = specs[0].input
    nchw = [1, i.c, i.h, i.w]
  }
  const fns = specs.map(block)
  const [n, c, h, w] = nchw
  const input = keep(tf.randomNormal([n, h, w, c], 0, 1, 'float32', 3))
  return {
    input,
    inputDims: nchw,
    // The empty target is an identity copy, like the ONNX Identity graph.
    forward: (x) => (fns.length === 0 ? tf.clone(x) : fns.reduce((y, f) => f(y as T4), x)),
    weights,
  }
}
