/**
 * Test oracle: the same training network in @tensorflow/tfjs (NHWC, autodiff by tf.grads): the reference that
 * gradient tests compare the engine against, and the baseline of `npm run bench:train`. Parameters
 * are taken in the engine's layout (conv [cout, cin/g, k, k], fc [cin, classes]) and transposed
 * inside the differentiated function, so tfjs gradients come back in that layout too.
 * Test and benchmark use only (tfjs is a dev dependency).
 */
import * as tf from '@tensorflow/tfjs'
import { expandedChannels, hasResidual, isHead, type LayerBlockSpec } from '@fleetnas/shared'
import { blockPrefix } from '../param-layout.ts'
import type { Network } from '../engine.ts'

type P = (name: string) => tf.Tensor

function forward(net: Network, p: P, xNchw: tf.Tensor4D): tf.Tensor2D {
  const x0 = tf.transpose(xNchw, [0, 2, 3, 1]) as tf.Tensor4D
  const convBn = (x: tf.Tensor4D, prefix: string, k: number, stride: number, depthwise: boolean, relu: boolean): tf.Tensor4D => {
    const pad = Math.floor(k / 2)
    const xp = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x
    const w = p(`${prefix}.weight`)
    let y = depthwise
      ? tf.depthwiseConv2d(xp, tf.transpose(w, [2, 3, 0, 1]) as tf.Tensor4D, stride, 'valid')
      : tf.conv2d(xp, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, stride, 'valid')
    const { mean, variance } = tf.moments(y, [0, 1, 2])
    y = tf.add(tf.mul(tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, 1e-5))), p(`${prefix}.gamma`)), p(`${prefix}.beta`))
    return relu ? tf.relu(y) : y
  }
  const layer = (b: LayerBlockSpec, x: tf.Tensor4D, prefix: string): tf.Tensor4D => {
    let y: tf.Tensor4D
    if (b.op === 'conv') y = convBn(x, `${prefix}.conv`, b.kernel, b.stride, false, true)
    else if (b.op === 'dwsep') {
      y = convBn(x, `${prefix}.dw`, b.kernel, b.stride, true, true)
      y = convBn(y, `${prefix}.pw`, 1, 1, false, true)
    } else {
      if (expandedChannels(b) <= 0) throw new Error('bad expand')
      y = convBn(x, `${prefix}.expand`, 1, 1, false, true)
      y = convBn(y, `${prefix}.dw`, b.kernel, b.stride, true, true)
      y = convBn(y, `${prefix}.project`, 1, 1, false, false)
      if (hasResidual(b)) y = tf.add(y, x)
    }
    return b.pool ? tf.maxPool(y, 2, 2, 'valid') : y
  }
  let y: tf.Tensor = x0
  for (let i = 0; i < net.blocks.length; i++) {
    const b = net.blocks[i]
    const prefix = blockPrefix(b, i)
    if (isHead(b)) return tf.add(tf.matMul(tf.mean(y, [1, 2]) as tf.Tensor2D, p(`${prefix}.fc.weight`) as tf.Tensor2D), p(`${prefix}.fc.bias`))
    y = layer(b, y as tf.Tensor4D, prefix)
  }
  throw new Error('architecture blocks must end with the head')
}

function lossOf(net: Network, p: P, x: tf.Tensor4D, onehot: tf.Tensor2D): tf.Scalar {
  const lsm = tf.logSoftmax(forward(net, p, x))
  return tf.neg(tf.mean(tf.sum(tf.mul(lsm, onehot), 1))) as tf.Scalar
}

function onehotOf(labels: Int32Array, classes: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as tf.Tensor2D
}

/** Loss and gradients (flat, in the engine's layout) with tfjs autodiff. */
export function tfjsLossAndGrads(net: Network, params: Float32Array, x: Float32Array, labels: Int32Array): { loss: number; grads: Float32Array } {
  return tf.tidy(() => {
    const { c, h, w } = net.space.input
    const entries = net.layout.entries
    const xs = tf.tensor4d(x, [labels.length, c, h, w])
    const oh = onehotOf(labels, net.classes)
    const tensors = entries.map((e) => tf.tensor(params.subarray(e.offset, e.offset + e.size), e.dims))
    const index = new Map(entries.map((e, i) => [e.name, i]))
    const f = (...ts: tf.Tensor[]) => lossOf(net, (n) => ts[index.get(n)!], xs, oh)
    const { value, grads } = tf.valueAndGrads(f)(tensors)
    const flat = new Float32Array(net.layout.size)
    entries.forEach((e, i) => flat.set(grads[i].dataSync() as Float32Array, e.offset))
    return { loss: value.dataSync()[0], grads: flat }
  })
}

/**
 * One first-order MAML task in tfjs: `steps` SGD steps on the support set, then the query loss
 * gradient at the adapted parameters, accumulated into `metaGrad`.
 */
export function tfjsMamlTask(
  net: Network,
  params: Float32Array,
  task: { supportX: Float32Array; supportY: Int32Array; queryX: Float32Array; queryY: Int32Array },
  steps: number,
  lr: number,
  metaGrad: Float32Array,
): number {
  const adapted = Float32Array.from(params)
  for (let s = 0; s < steps; s++) {
    const { grads } = tfjsLossAndGrads(net, adapted, task.supportX, task.supportY)
    for (let i = 0; i < adapted.length; i++) adapted[i] -= lr * grads[i]
  }
  const q = tfjsLossAndGrads(net, adapted, task.queryX, task.queryY)
  for (let i = 0; i < metaGrad.length; i++) metaGrad[i] += q.grads[i]
  return q.loss
}

export { tf }
