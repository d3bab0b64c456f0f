import t from 'tap'
import { outputShape, parseArchitectureId, parseBlockKey } from '@fleetnas/shared'
import { buildTfjsModel } from './tfjs-block.ts'
import { RuntimeUnavailable } from '../errors.ts'
import { createOnnxRuntimeRunner } from './onnxruntime-runner.ts'
import { createRunner, type MeasureTarget, type Runner } from './index.ts'

const SMALL = 'conv-k3-s1-i7x7x8-o7x7x8-bn-relu'
const LARGE = 'conv-k3-s1-i28x28x64-o28x28x64-bn-relu'
const block = (key: string): MeasureTarget => ({ kind: 'block', key, spec: parseBlockKey(key) })

/** The fastest of `runs` runs: load from other processes only ever adds time, so this orders targets reliably. */
async function fastestOf(runner: Runner, target: MeasureTarget, runs = 100): Promise<number> {
  const p = await runner.prepare(target)
  try {
    await p.run(5)
    const times = await p.run(runs)
    t.equal(times.length, runs)
    t.ok(times.every((x) => x > 0 && Number.isFinite(x)))
    return Math.min(...times)
  } finally {
    await p.release()
  }
}

for (const publicApiOnly of [false, true]) {
  t.test(`onnxruntime (${publicApiOnly ? 'public API' : 'native binding'}): raw timings of real sessions`, async (t) => {
    const runner = createOnnxRuntimeRunner({ threads: 1, publicApiOnly })
    t.equal(runner.runtime, 'onnxruntime')
    t.equal(runner.backend, 'cpu')
    t.ok(runner.info().backends.includes('cpu'))
    const small = await fastestOf(runner, block(SMALL))
    const large = await fastestOf(runner, block(LARGE))
    t.ok(large > small * 3, `large block ${large} ms vs small ${small} ms`)
    const empty = await fastestOf(runner, { kind: 'empty', key: 'empty-i7x7x8', inputDims: [1, 8, 7, 7] })
    t.ok(empty < small, `empty ${empty} ms < small ${small} ms`)
    const arch = await fastestOf(runner, { kind: 'architecture', key: 'a', arch: parseArchitectureId('g0.5_conv-k3-w16-mp_dwsep-k3-w16-mp') }, 10)
    t.ok(arch > 0)
    const p = await runner.prepare(block(SMALL))
    t.same(p.inputDims, [1, 8, 7, 7])
    const batched = await p.run(4, 10)
    t.equal(batched.length, 4, 'a batch of 10 runs is one sample')
    const abort = new AbortController()
    abort.abort()
    t.same(await p.run(100, 1, abort.signal), [], 'an aborted signal stops between runs')
    await p.release()
  })
}

t.test('tfjs: builds blocks from tfjs ops, names its backend, refuses thread counts it cannot honour', async (t) => {
  const runner = await createRunner('tfjs', { threads: 1 })
  t.equal(runner.runtime, 'tfjs')
  t.ok(['tensorflow', 'wasm', 'cpu'].includes(runner.backend))
  t.same(runner.info().backends, [runner.backend])
  for (const key of [SMALL, 'dwsep-k5-s2-i14x14x16-o7x7x24-bn-relu', 'mbconv-e2-k3-s1-i7x7x16-o7x7x16-bn-relu-res', 'head-gap-fc-i7x7x16-o5', 'conv-k3-s1-i8x8x8-o4x4x8-bn-relu-maxpool'])
    t.ok((await fastestOf(runner, block(key), 5)) > 0, key)
  t.ok((await fastestOf(runner, { kind: 'architecture', key: 'a', arch: parseArchitectureId('g0.5_conv-k3-w16-mp_mbconv-e2-k3-w16-n') }, 3)) > 0)
  // Same output shapes as the ONNX blocks (NHWC here, NCHW there).
  const tf = await import('@tensorflow/tfjs-core')
  for (const key of ['conv-k3-s2-i7x7x8-o4x4x16-bn-relu', 'dwsep-k7-s2-i14x14x16-o7x7x24-bn-relu', 'mbconv-e4-k5-s1-i7x7x16-o3x3x24-bn-relu-maxpool', 'head-gap-fc-i3x3x24-o5']) {
    const spec = parseBlockKey(key)
    const m = buildTfjsModel(tf, { kind: 'block', key, spec })
    const out = outputShape(spec)
    const y = m.forward(m.input)
    t.same(y.shape, spec.op === 'head' ? [1, out.c] : [1, out.h, out.w, out.c], key)
    y.dispose()
    m.weights.forEach((w) => w.dispose())
  }
  if (runner.backend !== 'tensorflow') await t.rejects(createRunner('tfjs', { threads: 4 }), { code: RuntimeUnavailable.code })
})
