/**
 * The training-mode network (BN with batch statistics) of an architecture, emitted on a GradTape,
 * and the ONNX models the engine runs:
 *   step     x, onehot, params          -> loss, logits, grad.<param> ...
 *   forward  x, params                  -> logits, stat.<bn>.mean / .var (batch statistics)
 *   inner    xs, ys, [xq, yq,] lr, params -> `steps` SGD steps on the support set inside the graph,
 *            then on the query set: loss, logits and grad.<param> at the adapted params
 *            (first-order MAML) for mode 'train', logits only for mode 'eval'.
 * Layer structure mirrors shared's block-model so parameter names and meaning match the export.
 */
import { OnnxGraph, expandedChannels, hasResidual, isHead, type BlockSpec, type LayerBlockSpec } from '@fleetnas/shared'
import { GradTape, GraphConstants } from './grad-tape.ts'
import { blockPrefix, type ParamLayout } from './param-layout.ts'

/** Tensor name that holds parameter `name` in this copy of the network. */
export type ParamTensors = (name: string) => string

interface NetOut {
  logits: string
  stats: { prefix: string; mean: string; variance: string }[]
}

function emitNetwork(t: GradTape, blocks: BlockSpec[], x: string, p: ParamTensors): NetOut {
  const stats: NetOut['stats'] = []
  /**
   * Conv - BN - [Relu] - [2x2 max-pool]. Relu followed by the pool is one fused tape op; on the
   * first layer (no input gradient) conv, BN, Relu and pool are one (convBnReluPool, convBatchNorm).
   */
  const convBn = (y: string, prefix: string, k: number, stride: number, group: number, relu: boolean, pool = false): string => {
    const conv = { kernel: k, stride, pad: Math.floor(k / 2), group }
    if (relu && pool) {
      const fused = t.convBnReluPool(y, p(`${prefix}.weight`), p(`${prefix}.gamma`), p(`${prefix}.beta`), conv)
      stats.push({ prefix, mean: fused.mean, variance: fused.variance })
      return fused.y
    }
    const bn = t.convBatchNorm(y, p(`${prefix}.weight`), p(`${prefix}.gamma`), p(`${prefix}.beta`), conv)
    stats.push({ prefix, mean: bn.mean, variance: bn.variance })
    const out = relu ? t.relu(bn.y) : bn.y
    return pool ? t.maxPool2(out) : out
  }
  const layer = (b: LayerBlockSpec, x: string, prefix: string): string => {
    let y: string
    switch (b.op) {
      case 'conv':
        return convBn(x, `${prefix}.conv`, b.kernel, b.stride, 1, true, b.pool)
      case 'dwsep':
        y = convBn(x, `${prefix}.dw`, b.kernel, b.stride, b.input.c, true)
        return convBn(y, `${prefix}.pw`, 1, 1, 1, true, b.pool)
      case 'mbconv': {
        const e = expandedChannels(b)
        y = convBn(x, `${prefix}.expand`, 1, 1, 1, true)
        y = convBn(y, `${prefix}.dw`, b.kernel, b.stride, e, true)
        y = convBn(y, `${prefix}.project`, 1, 1, 1, false)
        if (hasResidual(b)) y = t.add(y, x)
        break
      }
    }
    return b.pool ? t.maxPool2(y) : y
  }
  let y = x
  blocks.forEach((b, i) => {
    const prefix = blockPrefix(b, i)
    y = isHead(b) ? t.gemm(t.globalAvgPool(y), p(`${prefix}.fc.weight`), p(`${prefix}.fc.bias`)) : layer(b, y, prefix)
  })
  return { logits: y, stats }
}

export interface GraphSpec {
  blocks: BlockSpec[]
  layout: ParamLayout
}

function inputDims(blocks: BlockSpec[], n: number): number[] {
  const i = blocks[0].input
  return [n, i.c, i.h, i.w]
}

function classesOf(blocks: BlockSpec[]): number {
  const head = blocks[blocks.length - 1]
  if (!isHead(head)) throw new Error('architecture blocks must end with the head')
  return head.classes
}

/** Declares every parameter as a graph input on `t` (and `g`). */
function paramInputs(g: OnnxGraph, t: GradTape, layout: ParamLayout): ParamTensors {
  for (const e of layout.entries) t.declare(g.input(e.name, e.dims), e.dims, true)
  return (name) => name
}

/** One copy of network + loss + backward; returns loss, logits and each parameter's gradient tensor. */
function emitLossAndGrads(g: OnnxGraph, consts: GraphConstants, spec: GraphSpec, x: string, onehot: string, n: number, p: ParamTensors, declareParams: boolean) {
  const t = new GradTape(g, consts)
  const k = classesOf(spec.blocks)
  if (declareParams) for (const e of spec.layout.entries) t.declare(p(e.name), e.dims, true)
  t.declare(x, inputDims(spec.blocks, n), false)
  t.declare(onehot, [n, k], false)
  const net = emitNetwork(t, spec.blocks, x, p)
  const loss = t.softmaxCrossEntropy(net.logits, onehot)
  const grads = t.backward(loss, spec.layout.entries.map((e) => p(e.name)))
  return { loss, logits: net.logits, grads: (name: string) => grads.get(p(name))! }
}

export function buildStepModel(spec: GraphSpec, n: number): Uint8Array {
  const g = new OnnxGraph('fleetnas-train-step')
  const consts = new GraphConstants(g)
  const k = classesOf(spec.blocks)
  const x = g.input('x', inputDims(spec.blocks, n))
  const onehot = g.input('onehot', [n, k])
  for (const e of spec.layout.entries) g.input(e.name, e.dims)
  const r = emitLossAndGrads(g, consts, spec, x, onehot, n, (s) => s, true)
  g.op('Identity', [r.loss], {}, 'loss')
  g.output('loss', [])
  g.op('Identity', [r.logits], {}, 'logits')
  g.output('logits', [n, k])
  for (const e of spec.layout.entries) {
    g.op('Identity', [r.grads(e.name)], {}, `grad.${e.name}`)
    g.output(`grad.${e.name}`, e.dims)
  }
  return g.toBytes()
}

export function buildForwardModel(spec: GraphSpec, n: number): Uint8Array {
  const g = new OnnxGraph('fleetnas-train-forward')
  const t = new GradTape(g, new GraphConstants(g))
  const x = t.declare(g.input('x', inputDims(spec.blocks, n)), inputDims(spec.blocks, n), false)
  const p = paramInputs(g, t, spec.layout)
  const net = emitNetwork(t, spec.blocks, x, p)
  g.op('Identity', [net.logits], {}, 'logits')
  g.output('logits', [n, classesOf(spec.blocks)])
  for (const s of net.stats) {
    const c = spec.layout.byName.get(`${s.prefix}.gamma`)!.size
    g.op('Identity', [s.mean], {}, `stat.${s.prefix}.mean`)
    g.output(`stat.${s.prefix}.mean`, [c])
    g.op('Identity', [s.variance], {}, `stat.${s.prefix}.var`)
    g.output(`stat.${s.prefix}.var`, [c])
  }
  return g.toBytes()
}

export interface InnerShape {
  support: number
  query: number
  steps: number
  mode: 'train' | 'eval'
}

/**
 * The whole inner loop in one graph: params_{t+1} = params_t - lr * grad(support loss at params_t),
 * `steps` times, then the query pass at the adapted params. One session run per task.
 */
export function buildInnerLoopModel(spec: GraphSpec, shape: InnerShape): Uint8Array {
  const g = new OnnxGraph(`fleetnas-inner-${shape.mode}`)
  const consts = new GraphConstants(g)
  const k = classesOf(spec.blocks)
  const xs = g.input('xs', inputDims(spec.blocks, shape.support))
  const ys = g.input('ys', [shape.support, k])
  const xq = g.input('xq', inputDims(spec.blocks, shape.query))
  const lr = g.input('lr', [])
  for (const e of spec.layout.entries) g.input(e.name, e.dims)
  let current = new Map(spec.layout.entries.map((e) => [e.name, e.name]))
  for (let step = 0; step < shape.steps; step++) {
    const cur = current
    const r = emitLossAndGrads(g, consts, spec, xs, ys, shape.support, (s) => cur.get(s)!, true)
    const next = new Map<string, string>()
    for (const e of spec.layout.entries) next.set(e.name, g.op('Sub', [cur.get(e.name)!, g.op('Mul', [r.grads(e.name), lr])]))
    current = next
  }
  const adapted = current
  if (shape.mode === 'train') {
    const yq = g.input('yq', [shape.query, k])
    const r = emitLossAndGrads(g, consts, spec, xq, yq, shape.query, (s) => adapted.get(s)!, true)
    g.op('Identity', [r.loss], {}, 'loss')
    g.output('loss', [])
    g.op('Identity', [r.logits], {}, 'logits')
    g.output('logits', [shape.query, k])
    for (const e of spec.layout.entries) {
      g.op('Identity', [r.grads(e.name)], {}, `grad.${e.name}`)
      g.output(`grad.${e.name}`, e.dims)
    }
  } else {
    const t = new GradTape(g, consts)
    t.declare(xq, inputDims(spec.blocks, shape.query), false)
    for (const e of spec.layout.entries) t.declare(adapted.get(e.name)!, e.dims, false)
    const net = emitNetwork(t, spec.blocks, xq, (s) => adapted.get(s)!)
    g.op('Identity', [net.logits], {}, 'logits')
    g.output('logits', [shape.query, k])
  }
  return g.toBytes()
}
