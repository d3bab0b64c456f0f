// Whole-network gradients of the engine (ONNX Runtime, float32) against central finite differences
// of the float64 JavaScript reference network and against @tensorflow/tfjs autodiff (cpu backend),
// on small networks covering conv, dwsep, mbconv with residual, stride 2, maxpool, BN and the head.
import t from 'tap'
import { architectureId, createRng, type Architecture } from '@fleetnas/shared'
import { TrainingEngine, createNetwork } from './engine.ts'
import { initParams } from './param-layout.ts'
import { referenceLoss } from './oracles/reference-net.ts'
import { centralDifferences, float32Values, relativeError, sampleIndices } from './oracles/grad-check.ts'
import { tf, tfjsLossAndGrads } from './oracles/tfjs-net.ts'

await tf.setBackend('cpu')

const small = { input: { h: 8, w: 8, c: 2 }, classes: 3 }
const cases: { arch: Architecture; space: typeof small }[] = [
  {
    arch: { g: 0.5, blocks: [{ op: 'conv', kernel: 3, width: 16, down: 'none' }, { op: 'conv', kernel: 3, width: 16, down: 'maxpool' }] },
    space: small,
  },
  {
    arch: { g: 0.5, blocks: [{ op: 'conv', kernel: 5, width: 16, down: 'stride' }, { op: 'dwsep', kernel: 5, width: 16, down: 'none' }] },
    space: small,
  },
  {
    arch: {
      g: 0.5,
      blocks: [
        { op: 'mbconv', kernel: 3, width: 16, down: 'none', expand: 2 },
        { op: 'mbconv', kernel: 3, width: 16, down: 'none', expand: 2 },
        { op: 'conv', kernel: 3, width: 32, down: 'stride' },
      ],
    },
    space: small,
  },
  {
    arch: { g: 0.5, blocks: [{ op: 'dwsep', kernel: 7, width: 24, down: 'maxpool' }, { op: 'mbconv', kernel: 5, width: 24, down: 'stride', expand: 4 }] },
    space: small,
  },
  {
    // Conv4 shape at a small size: four conv-k3-maxpool blocks, 16 -> 8 -> 4 -> 2 -> 1.
    arch: { g: 0.5, blocks: Array.from({ length: 4 }, () => ({ op: 'conv' as const, kernel: 3, width: 16, down: 'maxpool' as const })) },
    space: { input: { h: 16, w: 16, c: 1 }, classes: 3 },
  },
]

const engine = new TrainingEngine({ threads: 1 })
t.teardown(() => engine.dispose())

for (const [ci, c] of cases.entries()) {
  const net = createNetwork(c.arch, c.space)
  t.test(architectureId(c.arch), async (t) => {
    const rng = createRng(100 + ci)
    const n = 4
    const params = initParams(net.layout, rng)
    // Non-trivial BN affine parameters so their gradients are exercised away from the identity.
    for (const e of net.layout.entries)
      if (e.role === 'gamma' || e.role === 'beta' || e.role === 'bias')
        for (let i = e.offset; i < e.offset + e.size; i++) params[i] = Math.fround((e.role === 'gamma' ? 1 : 0) + 0.3 * rng.normal())
    const x = Float32Array.from(float32Values(rng, n * net.imageSize, 0.5, 0.5))
    const labels = Int32Array.from({ length: n }, (_, i) => i % c.space.classes)

    const r = await engine.lossAndGrads(net, params, x, labels)
    const grads = Float32Array.from(r.grads)
    const p64 = Float64Array.from(params)
    const x64 = Float64Array.from(x)
    const f = (p: Float64Array) => referenceLoss(net.blocks, net.layout, p, x64, labels)
    t.ok(Math.abs(r.loss - f(p64)) < 1e-4, `loss ${r.loss} matches the float64 reference ${f(p64)}`)

    const tfr = tfjsLossAndGrads(net, params, x, labels)
    t.ok(Math.abs(r.loss - tfr.loss) < 1e-4, `loss matches tfjs (${tfr.loss})`)

    let worstFd = 0
    let worstTf = 0
    for (const e of net.layout.entries) {
      const idx = sampleIndices(rng, e.size, 12).map((i) => i + e.offset)
      const fd = centralDifferences(f, p64, idx)
      const errFd = relativeError(idx.map((i) => grads[i]), fd)
      const errTf = relativeError(grads.subarray(e.offset, e.offset + e.size), tfr.grads.subarray(e.offset, e.offset + e.size))
      worstFd = Math.max(worstFd, errFd)
      worstTf = Math.max(worstTf, errTf)
      if (errFd >= 1e-3) t.fail(`${e.name}: finite-difference relative error ${errFd}`)
      if (errTf >= 1e-3) t.fail(`${e.name}: tfjs relative error ${errTf}`)
    }
    t.ok(worstFd < 1e-3, `all ${net.layout.entries.length} parameter tensors match finite differences (worst ${worstFd.toExponential(2)})`)
    t.ok(worstTf < 1e-3, `all parameter tensors match tfjs autodiff (worst ${worstTf.toExponential(2)})`)
  })
}
