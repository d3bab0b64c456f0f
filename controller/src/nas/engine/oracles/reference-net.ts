/**
 * Test oracle (tests only import it): a plain JavaScript float64 forward pass of the training network (BN with batch statistics) and
 * its mean softmax cross-entropy. Slow and simple on purpose: gradient tests differentiate it by
 * central finite differences and compare against the engine's hand-derived gradients.
 */
import { expandedChannels, hasResidual, isHead, type BlockSpec, type LayerBlockSpec } from '@fleetnas/shared'
import { blockPrefix, type ParamLayout } from '../param-layout.ts'

export interface Tensor4 {
  n: number
  c: number
  h: number
  w: number
  d: Float64Array
}

type P = (name: string) => Float64Array

export function conv2d(x: Tensor4, wt: Float64Array, cout: number, k: number, stride: number, pad: number, group: number): Tensor4 {
  const ho = Math.floor((x.h + 2 * pad - k) / stride) + 1
  const wo = Math.floor((x.w + 2 * pad - k) / stride) + 1
  const cig = x.c / group
  const cog = cout / group
  const y = new Float64Array(x.n * cout * ho * wo)
  for (let n = 0; n < x.n; n++)
    for (let co = 0; co < cout; co++) {
      const gi = Math.floor(co / cog)
      for (let oh = 0; oh < ho; oh++)
        for (let ow = 0; ow < wo; ow++) {
          let s = 0
          for (let ci = 0; ci < cig; ci++) {
            const cIn = gi * cig + ci
            for (let kh = 0; kh < k; kh++) {
              const ih = oh * stride + kh - pad
              if (ih < 0 || ih >= x.h) continue
              for (let kw = 0; kw < k; kw++) {
                const iw = ow * stride + kw - pad
                if (iw < 0 || iw >= x.w) continue
                s += x.d[((n * x.c + cIn) * x.h + ih) * x.w + iw] * wt[((co * cig + ci) * k + kh) * k + kw]
              }
            }
          }
          y[((n * cout + co) * ho + oh) * wo + ow] = s
        }
    }
  return { n: x.n, c: cout, h: ho, w: wo, d: y }
}

export function batchNormTrain(x: Tensor4, gamma: Float64Array, beta: Float64Array, eps = 1e-5): Tensor4 {
  const y = new Float64Array(x.d.length)
  const hw = x.h * x.w
  const m = x.n * hw
  for (let c = 0; c < x.c; c++) {
    let mean = 0
    for (let n = 0; n < x.n; n++) for (let i = 0; i < hw; i++) mean += x.d[(n * x.c + c) * hw + i]
    mean /= m
    let v = 0
    for (let n = 0; n < x.n; n++) for (let i = 0; i < hw; i++) v += (x.d[(n * x.c + c) * hw + i] - mean) ** 2
    v /= m
    const r = 1 / Math.sqrt(v + eps)
    for (let n = 0; n < x.n; n++)
      for (let i = 0; i < hw; i++) {
        const j = (n * x.c + c) * hw + i
        y[j] = (x.d[j] - mean) * r * gamma[c] + beta[c]
      }
  }
  return { ...x, d: y }
}

export function relu(x: Tensor4): Tensor4 {
  return { ...x, d: x.d.map((v) => (v > 0 ? v : 0)) }
}

export function maxPool2(x: Tensor4): Tensor4 {
  const ho = Math.floor(x.h / 2)
  const wo = Math.floor(x.w / 2)
  const y = new Float64Array(x.n * x.c * ho * wo)
  for (let nc = 0; nc < x.n * x.c; nc++)
    for (let oh = 0; oh < ho; oh++)
      for (let ow = 0; ow < wo; ow++) {
        let m = -Infinity
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) m = Math.max(m, x.d[(nc * x.h + oh * 2 + a) * x.w + ow * 2 + b])
        y[(nc * ho + oh) * wo + ow] = m
      }
  return { n: x.n, c: x.c, h: ho, w: wo, d: y }
}

export function add(a: Tensor4, b: Tensor4): Tensor4 {
  return { ...a, d: a.d.map((v, i) => v + b.d[i]) }
}

/** GAP then Gemm with w [c, classes], bias [classes]: logits [n, classes]. */
export function head(x: Tensor4, w: Float64Array, bias: Float64Array, classes: number): Float64Array {
  const hw = x.h * x.w
  const out = new Float64Array(x.n * classes)
  for (let n = 0; n < x.n; n++)
    for (let k = 0; k < classes; k++) {
      let s = bias[k]
      for (let c = 0; c < x.c; c++) {
        let f = 0
        for (let i = 0; i < hw; i++) f += x.d[(n * x.c + c) * hw + i]
        s += (f / hw) * w[c * classes + k]
      }
      out[n * classes + k] = s
    }
  return out
}

export function softmaxCrossEntropy(logits: Float64Array, labels: Int32Array, classes: number): number {
  let loss = 0
  for (let n = 0; n < labels.length; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes)
    const m = Math.max(...row)
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0))
    loss += lse - row[labels[n]]
  }
  return loss / labels.length
}

function layer(b: LayerBlockSpec, x: Tensor4, p: P, prefix: string): Tensor4 {
  const convBn = (y: Tensor4, name: string, cout: number, k: number, stride: number, group: number, withRelu: boolean) => {
    y = conv2d(y, p(`${name}.weight`), cout, k, stride, Math.floor(k / 2), group)
    y = batchNormTrain(y, p(`${name}.gamma`), p(`${name}.beta`))
    return withRelu ? relu(y) : y
  }
  let y: Tensor4
  const cin = b.input.c
  if (b.op === 'conv') y = convBn(x, `${prefix}.conv`, b.outChannels, b.kernel, b.stride, 1, true)
  else if (b.op === 'dwsep') {
    y = convBn(x, `${prefix}.dw`, cin, b.kernel, b.stride, cin, true)
    y = convBn(y, `${prefix}.pw`, b.outChannels, 1, 1, 1, true)
  } else {
    const e = expandedChannels(b)
    y = convBn(x, `${prefix}.expand`, e, 1, 1, 1, true)
    y = convBn(y, `${prefix}.dw`, e, b.kernel, b.stride, e, true)
    y = convBn(y, `${prefix}.project`, b.outChannels, 1, 1, 1, false)
    if (hasResidual(b)) y = add(y, x)
  }
  return b.pool ? maxPool2(y) : y
}

/** Logits [n, classes] of the whole network in float64. */
export function referenceLogits(blocks: BlockSpec[], layout: ParamLayout, params: Float64Array, x: Float64Array, n: number): Float64Array {
  const p: P = (name) => {
    const e = layout.byName.get(name)
    if (!e) throw new Error(`no parameter ${name}`)
    return params.subarray(e.offset, e.offset + e.size)
  }
  const i = blocks[0].input
  let t: Tensor4 = { n, c: i.c, h: i.h, w: i.w, d: x }
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi]
    const prefix = blockPrefix(b, bi)
    if (isHead(b)) return head(t, p(`${prefix}.fc.weight`), p(`${prefix}.fc.bias`), b.classes)
    t = layer(b, t, p, prefix)
  }
  throw new Error('architecture blocks must end with the head')
}

export function referenceLoss(blocks: BlockSpec[], layout: ParamLayout, params: Float64Array, x: Float64Array, labels: Int32Array): number {
  const head = blocks[blocks.length - 1]
  if (!isHead(head)) throw new Error('architecture blocks must end with the head')
  return softmaxCrossEntropy(referenceLogits(blocks, layout, params, x, labels.length), labels, head.classes)
}
