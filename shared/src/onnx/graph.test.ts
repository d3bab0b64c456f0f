/** The protobuf encoder and graph builder, checked by what real ONNX Runtime sessions make of them. */
import t from 'tap'
import ort from 'onnxruntime-node'
import { OnnxGraph } from './graph.ts'
import { DataType, encodeModel } from './proto.ts'

async function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' })
}

t.test('every attribute kind, int64 initializers and symbolic dims reach ORT intact', async (t) => {
  const g = new OnnxGraph('attrs')
  const x = g.input('x', ['n', 3])
  // ints (perm), float (alpha), floats (value_floats), string (mode), int incl. negative (axis).
  const xt = g.op('Transpose', [x], { perm: [1, 0] }) // [3, n]
  const leaky = g.op('LeakyRelu', [xt], { alpha: { float: 0.25 } })
  const c = g.op('Constant', [], { value_floats: { floats: [0.5, -1.5, 2.25] } }) // [3]
  const cShape = g.int64Init('c_shape', [-1, 1]) // negative values in raw int64 data
  const c31 = g.op('Reshape', [c, cShape]) // [3, 1]
  const sum = g.op('Add', [leaky, c31]) // [3, n]
  const pads = g.int64Init('pads', [0, 1, 0, 1])
  const padded = g.op('Pad', [sum, pads], { mode: 'reflect' }) // [3, n + 2]
  g.op('Flatten', [padded], { axis: -1 }, 'flat') // [3, n + 2]
  g.output('flat', [3, 'm'])
  t.equal(g.nodeCount, 7)
  const s = await session(g.toBytes())
  t.teardown(() => s.release())
  const meta = s.inputMetadata[0]
  t.same(meta.isTensor && [...meta.shape], ['n', 3])
  const xs = [1, -2, 3, -4, 5, -6] // [2, 3]
  const out = (await s.run({ x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]) })).flat as ort.Tensor
  t.same([...out.dims], [3, 4])
  // Reference: transpose, leaky relu, + column constant, reflect-pad one column each side.
  const cs = [0.5, -1.5, 2.25]
  const leakyRelu = (v: number) => (v >= 0 ? v : 0.25 * v)
  const rows = [0, 1, 2].map((i) => [0, 1].map((j) => leakyRelu(xs[j * 3 + i]) + cs[i]))
  const want = rows.flatMap(([a, b]) => [b, a, b, a])
  t.same([...(out.data as Float32Array)], want)
})

t.test('names, initializers and errors', async (t) => {
  const g = new OnnxGraph('names')
  t.equal(g.name, 'names')
  t.same([g.fresh('a'), g.fresh('a'), g.fresh('b'), g.fresh('a')], ['a_0', 'a_1', 'b_0', 'a_2'])
  t.throws(() => g.floatInit('w', [2, 3], [1, 2, 3]), /3 values for dims \[2,3\]/)
  // Fresh outputs and given outputs; multi-output nodes.
  const x = g.input('x', [4])
  const parts = g.node('Split', [x, g.int64Init('split', [1, 3])], { axis: 0 }, 2)
  t.equal(parts.length, 2)
  t.not(parts[0], parts[1])
  // A view into a larger buffer is serialised from its own offset.
  const big = Float32Array.from([9, 9, 1, 2, 3, 9])
  const w = g.floatInit('w', [3], big.subarray(2, 5))
  g.op('Mul', [parts[1], w], {}, 'y')
  g.op('Identity', [parts[0]], {}, 'z')
  g.output('y', [3])
  g.output('z', [1])
  const s = await session(g.toBytes())
  t.teardown(() => s.release())
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([5, 1, 10, 100]), [4]) })
  t.same([...(out.y.data as Float32Array)], [1, 20, 300])
  t.same([...(out.z.data as Float32Array)], [5])
  // Non-integer numbers must be given as { float }.
  const bad = new OnnxGraph('bad')
  bad.op('LeakyRelu', [bad.input('x', [1])], { alpha: 0.1 }, 'y')
  bad.output('y', [1])
  t.throws(() => bad.toBytes(), /use \{ float \}/)
})

t.test('encodeModel writes a model ORT accepts at opset 13 and 17, and refuses bad graphs', async (t) => {
  const identity = (opset: number) =>
    encodeModel(
      {
        name: 'id',
        nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'], name: 'r', attributes: {} }],
        initializers: [],
        inputs: [{ name: 'x', dataType: DataType.FLOAT, dims: ['batch', 2] }],
        outputs: [{ name: 'y', dataType: DataType.FLOAT, dims: ['batch', 2] }],
      },
      opset,
    )
  for (const opset of [13, 17]) {
    const s = await session(identity(opset))
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2, 3, -4, 0, 6]), [3, 2]) })
    t.same([...(out.y.data as Float32Array)], [0, 2, 3, 0, 0, 6], `opset ${opset}`)
    await s.release()
  }
  // ORT validates what it loads: an unknown op or a dangling input is refused, not silently run.
  const g = new OnnxGraph('broken')
  g.op('NoSuchOp', [g.input('x', [1])], {}, 'y')
  g.output('y', [1])
  await t.rejects(session(g.toBytes()))
  const h = new OnnxGraph('dangling')
  h.input('x', [1])
  h.op('Relu', ['nowhere'], {}, 'y')
  h.output('y', [1])
  await t.rejects(session(h.toBytes()))
})
