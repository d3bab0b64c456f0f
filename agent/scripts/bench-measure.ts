/**
 * Measures a random sample of the default space's blocks with DEFAULT_MEASURE_SETTINGS at 1 thread
 * and extrapolates to the whole space. Usage: npx tsx agent/scripts/bench-measure.ts [count] [threads]
 */
import { createRng, DEFAULT_MEASURE_SETTINGS, parseBlockKey, spaceBlockKeys, type Measurement } from '@fleetnas/shared'
import { measureTargets } from '../src/measure.ts'
import { createRunner } from '../src/runners/index.ts'
import { median } from '../src/stats.ts'

const count = Number(process.argv[2] ?? 300)
const threads = Number(process.argv[3] ?? 1)
const runtime = (process.argv[4] ?? 'onnxruntime') as 'onnxruntime' | 'tfjs'
const all = spaceBlockKeys()
const keys = createRng(11).shuffle([...all]).slice(0, count)
const runner = await createRunner(runtime, { threads })
// Time spent preparing (graph build + session creation), to separate it from timing.
let prepareMs = 0
const prepare = runner.prepare.bind(runner)
runner.prepare = async (t) => {
  const a = performance.now()
  try {
    return await prepare(t)
  } finally {
    prepareMs += performance.now() - a
  }
}
const settings = { ...DEFAULT_MEASURE_SETTINGS, ...JSON.parse(process.env.SETTINGS ?? '{}') }
const ms: Measurement[] = []
const t0 = performance.now()
const r = await measureTargets({
  runner,
  settings,
  targets: keys.map((key) => ({ kind: 'block' as const, key, spec: parseBlockKey(key) })),
  onMeasurement: (m) => void ms.push(m),
})
const wall = (performance.now() - t0) / 1000
const blocks = ms.filter((m) => m.kind === 'block')
// Each distinct input shape needs one empty measurement per job (71 in the default space).
const emptyS = ms.filter((m) => m.kind === 'empty').length * (settings.warmupMs + settings.minTimeMs + 10) / 1000
const cvs = blocks.map((m) => m.cv)
console.log(JSON.stringify({
  settings, prepareMsPerBlock: +(prepareMs / count).toFixed(1), runtime, backend: runner.backend, threads, blocks: blocks.length, wallS: +wall.toFixed(1),
  blocksPerMin: +((blocks.length / wall) * 60).toFixed(0),
  extrapolatedSpaceMin: +(((wall - emptyS) / blocks.length) * all.length / 60 + 71 * 0.09 / 60).toFixed(1),
  medianCv: +median(cvs).toFixed(4), p90Cv: +[...cvs].sort((a, b) => a - b)[Math.floor(cvs.length * 0.9)].toFixed(4),
  noisy: r.noisy, referenceDrift: r.referenceDrift,
  empties: ms.filter((m) => m.kind === 'empty').length,
  medianSamples: median(blocks.map((m) => m.samples)),
  medianBlockMs: median(blocks.map((m) => m.medianMs)),
  medianOverheadMs: median(blocks.map((m) => m.overheadMs ?? 0)),
}, null, 1))
