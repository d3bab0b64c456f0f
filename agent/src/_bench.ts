import * as ort from 'onnxruntime-node'
import { spaceBlocks, buildBlockModel, buildEmptyModel, blockMacs, createRng } from '@fleetnas/shared'
const m = [...spaceBlocks().entries()]
const rng = createRng(3)
rng.shuffle(m)
const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }
async function time(bytes: Uint8Array, dims: number[], n: number) {
  const t0 = performance.now()
  const s = await ort.InferenceSession.create(bytes, opts)
  const tc = performance.now() - t0
  const x = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)
  const feeds = { x }
  for (let i = 0; i < 5; i++) await s.run(feeds)
  const ts: number[] = []
  for (let i = 0; i < n; i++) { const a = performance.now(); await s.run(feeds); ts.push(performance.now() - a) }
  ts.sort((a, b) => a - b)
  await s.release()
  const mean = ts.reduce((a, b) => a + b, 0) / n
  const std = Math.sqrt(ts.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1))
  return { tc, med: ts[n >> 1], cv: std / mean }
}
const e = buildEmptyModel([1, 16, 28, 28])
console.log('empty', await time(e.bytes, e.inputDims, 200))
let tb = 0, tcTot = 0, tr = 0
const T0 = performance.now()
for (const [k, b] of m.slice(0, 40)) {
  const a = performance.now()
  const mod = buildBlockModel(b)
  tb += performance.now() - a
  const r = await time(mod.bytes, mod.inputDims, 30)
  tcTot += r.tc; tr += r.med
  console.log(k, blockMacs(b), r.tc.toFixed(2), (r.med * 1000).toFixed(1) + 'us', (r.cv * 100).toFixed(1) + '%')
}
console.log('build', tb / 40, 'create', tcTot / 40, 'mean median', tr / 40, 'wall', performance.now() - T0)
