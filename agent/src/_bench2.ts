import * as ort from 'onnxruntime-node'
import { buildEmptyModel } from '@fleetnas/shared'
const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }
for (const dims of [[1,1,28,28],[1,16,28,28],[1,128,28,28],[1,8,1,1],[1,1,28,28]]) {
  const e = buildEmptyModel(dims)
  const s = await ort.InferenceSession.create(e.bytes, opts)
  const x = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)
  for (let i = 0; i < 200; i++) await s.run({ x })
  const ts: number[] = []
  for (let i = 0; i < 2000; i++) { const a = performance.now(); await s.run({ x }); ts.push(performance.now() - a) }
  ts.sort((a, b) => a - b)
  console.log(dims.join('x'), 'p10', ts[200]*1000, 'med', ts[1000]*1000, 'p90', ts[1800]*1000)
  const ts2: number[] = []
  for (let i = 0; i < 2000; i++) { const a = process.hrtime.bigint(); await s.run({ x }); ts2.push(Number(process.hrtime.bigint() - a)/1e6) }
  ts2.sort((a, b) => a - b); console.log('  hrtime med', ts2[1000]*1000)
}
