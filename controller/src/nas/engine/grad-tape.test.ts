// Each hand-derived gradient rule of GradTape against central finite differences of the float64
// reference ops, through a real ONNX Runtime session: loss = sum(op(inputs) * r) for a random r.
import t from 'tap'
import ort from 'onnxruntime-node'
import { OnnxGraph, createRng } from '@fleetnas/shared'
import { GradTape, GraphConstants } from './grad-tape.ts'
import { add, batchNormTrain, conv2d, head, maxPool2, relu, softmaxCrossEntropy, type Tensor4 } from './oracles/reference-net.ts'
import { centralDifferences, float32Values, relativeError, sampleIndices } from './oracles/grad-check.ts'

interface In {
  name: string
  dims: number[]
  scale?: number
  shift?: number
  /** A data input: no gradient asked for (the network's images). */
  fixed?: boolean
}

const size = (d: number[]) => d.reduce((a, b) => a * b, 1)
const t4 = (d: number[], v: Float64Array): Tensor4 => ({ n: d[0], c: d[1], h: d[2], w: d[3], d: v })

async function check(
  name: string,
  inputs: In[],
  build: (tape: GradTape, names: string[]) => string,
  reference: (values: Float64Array[]) => Float64Array | number,
  opts: { scalarLoss?: boolean; seed?: number } = {},
) {
  const rng = createRng(opts.seed ?? 11)
  const values = inputs.map((i) => float32Values(rng, size(i.dims), i.scale ?? 1, i.shift ?? 0))
  const g = new OnnxGraph('gradcheck')
  const tape = new GradTape(g, new GraphConstants(g))
  const names = inputs.map((i) => tape.declare(g.input(i.name, i.dims), i.dims, !i.fixed))
  const out = build(tape, names)
  const outSize = size(tape.shape(out))
  const r = float32Values(rng, outSize)
  let loss = out
  if (!opts.scalarLoss) {
    const rName = g.input('r', tape.shape(out))
    tape.declare(rName, tape.shape(out), false)
    loss = tape.weightedSum(out, rName)
  }
  const grads = tape.backward(loss, names.filter((_, k) => !inputs[k].fixed))
  g.op('Identity', [loss], {}, 'loss')
  g.output('loss', [])
  inputs.forEach((i, k) => {
    if (i.fixed) return
    g.op('Identity', [grads.get(names[k])!], {}, `d_${i.name}`)
    g.output(`d_${i.name}`, i.dims)
  })
  const session = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'all' })
  const feeds: Record<string, ort.Tensor> = {}
  inputs.forEach((i, k) => (feeds[i.name] = new ort.Tensor('float32', Float32Array.from(values[k]), i.dims)))
  if (!opts.scalarLoss) feeds.r = new ort.Tensor('float32', Float32Array.from(r), tape.shape(out))
  const res = await session.run(feeds)
  await session.release()
  const refLoss = (vals: Float64Array[]) => {
    const y = reference(vals)
    if (typeof y === 'number') return y
    let s = 0
    for (let j = 0; j < y.length; j++) s += y[j] * r[j]
    return s
  }
  t.ok(Math.abs((res.loss.data as Float32Array)[0] - refLoss(values)) <= 1e-4 * Math.max(1, Math.abs(refLoss(values))), `${name}: forward loss matches`)
  inputs.forEach((i, k) => {
    if (i.fixed) return
    const idx = sampleIndices(rng, values[k].length, 24)
    const fd = centralDifferences(
      (p) => refLoss(values.map((v, j) => (j === k ? p : v))),
      values[k],
      idx,
    )
    const analytic = idx.map((j) => (res[`d_${i.name}`].data as Float32Array)[j])
    const err = relativeError(analytic, fd)
    t.ok(err < 1e-3, `${name}: d/d${i.name} relative error ${err.toExponential(2)} < 1e-3`)
  })
}

const convCases = [
  { k: 3, s: 1, group: 1, cin: 3, cout: 4, h: 7 },
  { k: 3, s: 2, group: 1, cin: 3, cout: 4, h: 8 },
  { k: 5, s: 2, group: 1, cin: 2, cout: 3, h: 7 },
  { k: 7, s: 1, group: 1, cin: 2, cout: 2, h: 6 },
  { k: 1, s: 1, group: 1, cin: 4, cout: 6, h: 5 },
  { k: 3, s: 1, group: 4, cin: 4, cout: 4, h: 6 },
  { k: 5, s: 2, group: 6, cin: 6, cout: 6, h: 9 },
  { k: 3, s: 1, group: 2, cin: 4, cout: 6, h: 5 },
]

for (const c of convCases) {
  const label = `conv k${c.k} s${c.s} g${c.group} ${c.cin}->${c.cout} @${c.h}`
  t.test(label, () =>
    check(
      label,
      [
        { name: 'x', dims: [2, c.cin, c.h, c.h] },
        { name: 'w', dims: [c.cout, c.cin / c.group, c.k, c.k], scale: 0.5 },
      ],
      (tape, [x, w]) => tape.conv(x, w, { kernel: c.k, stride: c.s, pad: Math.floor(c.k / 2), group: c.group }),
      ([x, w]) => conv2d(t4([2, c.cin, c.h, c.h], x), w, c.cout, c.k, c.s, Math.floor(c.k / 2), c.group).d,
    ),
  )
}

t.test('batch norm (batch statistics)', () =>
  check(
    'batchnorm',
    [
      { name: 'x', dims: [3, 4, 5, 5], scale: 2, shift: 0.5 },
      { name: 'gamma', dims: [4], shift: 1 },
      { name: 'beta', dims: [4] },
    ],
    (tape, [x, gm, b]) => tape.batchNorm(x, gm, b).y,
    ([x, gm, b]) => batchNormTrain(t4([3, 4, 5, 5], x), gm, b).d,
  ),
)

// First-layer fusions (input needs no gradient): BN's backward folded into dW, and the whole
// conv-BN-Relu-pool layer in window layout; odd sizes and strides take the separate ops.
for (const c of [
  { k: 3, s: 1, cin: 2, cout: 4, h: 8, pool: true },
  { k: 5, s: 1, cin: 1, cout: 3, h: 6, pool: true },
  { k: 3, s: 1, cin: 2, cout: 4, h: 7, pool: true },
  { k: 3, s: 2, cin: 2, cout: 4, h: 8, pool: false },
]) {
  const label = `first-layer conv k${c.k} s${c.s} ${c.cin}->${c.cout} @${c.h} + BN${c.pool ? ' + relu + maxpool' : ''}`
  const p = Math.floor(c.k / 2)
  t.test(label, () =>
    check(
      label,
      [
        { name: 'x', dims: [3, c.cin, c.h, c.h], fixed: true },
        { name: 'w', dims: [c.cout, c.cin, c.k, c.k], scale: 0.5 },
        { name: 'gamma', dims: [c.cout], shift: 1 },
        { name: 'beta', dims: [c.cout] },
      ],
      (tape, [x, w, gm, b]) => {
        const opts = { kernel: c.k, stride: c.s, pad: p, group: 1 }
        return c.pool ? tape.convBnReluPool(x, w, gm, b, opts).y : tape.convBatchNorm(x, w, gm, b, opts).y
      },
      ([x, w, gm, b]) => {
        const y = batchNormTrain(conv2d(t4([3, c.cin, c.h, c.h], x), w, c.cout, c.k, c.s, p, 1), gm, b)
        return (c.pool ? maxPool2(relu(y)) : y).d
      },
    ),
  )
}

t.test('relu', () =>
  check('relu', [{ name: 'x', dims: [2, 3, 4, 4] }], (tape, [x]) => tape.relu(x), ([x]) => relu(t4([2, 3, 4, 4], x)).d),
)

for (const h of [6, 7]) {
  t.test(`maxpool 2x2 on ${h}x${h}`, () =>
    check(`maxpool@${h}`, [{ name: 'x', dims: [2, 3, h, h] }], (tape, [x]) => tape.maxPool2(x), ([x]) => maxPool2(t4([2, 3, h, h], x)).d),
  )
}

for (const h of [6, 7]) {
  t.test(`relu + maxpool 2x2 fused on ${h}x${h}`, () =>
    check(`relu-maxpool@${h}`, [{ name: 'x', dims: [2, 3, h, h] }], (tape, [x]) => tape.reluMaxPool2(x), ([x]) => maxPool2(relu(t4([2, 3, h, h], x))).d),
  )
}

t.test('add (residual)', () =>
  check(
    'add',
    [{ name: 'x', dims: [2, 3, 4, 4] }],
    (tape, [x]) => tape.add(tape.relu(x), x),
    ([x]) => add(relu(t4([2, 3, 4, 4], x)), t4([2, 3, 4, 4], x)).d,
  ),
)

t.test('global average pool + gemm head', () =>
  check(
    'head',
    [
      { name: 'x', dims: [3, 4, 3, 3] },
      { name: 'w', dims: [4, 5] },
      { name: 'b', dims: [5] },
    ],
    (tape, [x, w, b]) => tape.gemm(tape.globalAvgPool(x), w, b),
    ([x, w, b]) => head(t4([3, 4, 3, 3], x), w, b, 5),
  ),
)

t.test('softmax cross-entropy (mean over batch)', async () => {
  const labels = Int32Array.from([0, 3, 2, 3])
  const onehot = new Float32Array(16)
  labels.forEach((y, i) => (onehot[i * 4 + y] = 1))
  await check(
    'softmax-ce',
    [{ name: 'logits', dims: [4, 4], scale: 2 }],
    (tape, [l]) => {
      const oh = tape.g.floatInit('onehot', [4, 4], onehot)
      tape.declare(oh, [4, 4], false)
      return tape.softmaxCrossEntropy(l, oh)
    },
    ([l]) => softmaxCrossEntropy(l, labels, 4),
    { scalarLoss: true },
  )
})
