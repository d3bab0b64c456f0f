import t from 'tap'
import { parseArchitectureId, parseBlockKey, type Measurement, type MeasureSettings } from '@fleetnas/shared'
import { MeasureCanceled } from './errors.ts'
import { measureTargets, planWindows, REFERENCE_BLOCK_KEY, timeInterleaved } from './measure.ts'
import { createOnnxRuntimeRunner } from './runners/onnxruntime-runner.ts'
import type { MeasureTarget, PreparedTarget, Runner } from './runners/runner.ts'

const KEYS = [
  'conv-k3-s1-i7x7x8-o7x7x8-bn-relu',
  'conv-k5-s1-i7x7x8-o7x7x16-bn-relu',
  'dwsep-k3-s1-i7x7x8-o7x7x16-bn-relu',
  'mbconv-e2-k3-s1-i7x7x8-o7x7x8-bn-relu-res',
  'conv-k3-s2-i14x14x8-o7x7x16-bn-relu',
  'head-gap-fc-i7x7x16-o5',
]
const targets = (keys = KEYS): MeasureTarget[] => keys.map((key) => ({ kind: 'block', key, spec: parseBlockKey(key) }))
const FAST: MeasureSettings = { warmupRuns: 3, warmupMs: 5, minRuns: 30, minTimeMs: 15, maxRuns: 3000, rounds: 3, maxCv: 0.5, referenceEvery: 4 }

/**
 * Real timings: only what noise cannot change is asserted here (every target once, figures finite
 * and ordered where they always are, which empty graph was subtracted). Whether a target is
 * measured again (noisy, or not above its overhead) depends on the machine's load, and with it
 * the order, the progress steps and the number of empty and reference measurements; those paths
 * are tested below with scripted timings.
 */
t.test('real ONNX Runtime: sane statistics, overhead subtracted, reference and progress', async (t) => {
  const ms: Measurement[] = []
  const progress: [number, number][] = []
  const result = await measureTargets({
    runner: createOnnxRuntimeRunner({ threads: 1 }),
    settings: FAST,
    targets: targets(),
    seed: 'job-x',
    window: 4,
    readEnvironment: async () => ({ temperatureC: 40 }),
    onMeasurement: (m) => void ms.push(m),
    onProgress: (done, total) => void progress.push([done, total]),
  })
  t.equal(result.measured, 6)
  const blocks = ms.filter((m) => m.kind === 'block')
  t.same(blocks.map((m) => m.key).sort(), [...KEYS].sort(), 'every block once')
  const emptyKeys = new Set(ms.filter((m) => m.kind === 'empty').map((m) => m.key))
  t.ok(emptyKeys.has('empty-i7x7x8') && emptyKeys.has('empty-i14x14x8') && emptyKeys.has('empty-i7x7x16'), [...emptyKeys].join())
  for (const m of ms) {
    const figures = [m.medianMs, m.ciLowMs!, m.ciHighMs!, m.p10Ms, m.p90Ms, m.meanMs, m.stdMs, m.cv]
    t.ok(figures.every((x) => Number.isFinite(x) && x >= 0), `${m.kind} ${m.key}: finite, non-negative figures`)
    t.ok(m.p10Ms <= m.p90Ms && m.ciLowMs! <= m.medianMs && m.medianMs <= m.ciHighMs!, `${m.key}: p10 <= p90, median within its interval`)
    t.ok(m.medianMs + (m.overheadMs ?? 0) > 0, `${m.key}: what was timed took time`)
  }
  for (const m of blocks) {
    t.equal(m.belowOverhead === true, m.medianMs === 0, `${m.key}: flagged belowOverhead exactly when its net median is 0`)
    t.ok(m.samples >= FAST.minRuns && m.rounds === 3, `${m.key}: ${m.samples} runs in ${m.rounds} rounds`)
    t.equal(m.runtime, 'onnxruntime')
    t.equal(m.threads, 1)
    const [, h, w, c] = /-i(\d+)x(\d+)x(\d+)-/.exec(m.key)!
    // The empty graph subtracted is one of its input shape timed in the same window, reported before it
    // (the latest one, unless the block was measured again and its first reading kept).
    const emptiesBefore = ms.slice(0, ms.indexOf(m)).filter((e) => e.key === `empty-i${h}x${w}x${c}`)
    t.ok(emptiesBefore.some((e) => e.medianMs === m.overheadMs), `${m.key}: the empty graph of its input shape, timed beside it, is subtracted`)
    t.same(m.before, { temperatureC: 40 })
    t.same(m.after, { temperatureC: 40 })
  }
  const refs = ms.filter((m) => m.kind === 'reference')
  t.ok(refs.length >= 2 && refs.every((r) => r.key === REFERENCE_BLOCK_KEY), `${refs.length} reference measurements`)
  t.ok(ms.indexOf(refs[0]) < ms.indexOf(blocks[0]) && ms.indexOf(refs.at(-1)!) > ms.indexOf(blocks.at(-1)!), 'the reference before the first block and after the last')
  t.ok(result.referenceDrift! > 0 && Number.isFinite(result.referenceDrift), `drift ${result.referenceDrift}`)
  t.same(progress[0], [0, 6], 'progress starts at 0')
  t.same(progress.at(-1), [6, 6], 'and ends at every target')
  t.ok(progress.every(([done, total], i) => total === 6 && (i === 0 || done > progress[i - 1][0])), 'and only rises')
})

/** A runner with scripted timings: noise per key, and a log of which target ran when. */
function fakeRunner(noiseOf: (key: string) => number, log: string[] = []): Runner {
  return {
    runtime: 'onnxruntime',
    backend: 'fake',
    threads: 1,
    info: () => ({ name: 'onnxruntime', version: '0', backends: ['fake'] }),
    async prepare(target) {
      let i = 0
      const dims = target.kind === 'empty' ? target.inputDims : [1, 8, 7, 7]
      const p: PreparedTarget = {
        inputDims: dims,
        async run(count, _batch, signal) {
          log.push(target.key)
          const out: number[] = []
          for (let k = 0; k < count && !signal?.aborted; k++) {
            const base = target.kind === 'empty' ? 0.01 : 0.1
            out.push(base * (1 + noiseOf(target.key) * Math.sin(i++ * 2.4)))
          }
          await new Promise((r) => setImmediate(r))
          return out
        },
        async release() {},
      }
      return p
    },
    async dispose() {},
  }
}

t.test('times are reported to the nanosecond: a few-microsecond block keeps its digits', async (t) => {
  const constant = (ms: number): PreparedTarget => ({ inputDims: [1, 8, 7, 7], run: async (count) => Array(count).fill(ms), release: async () => {} })
  const runner: Runner = { ...fakeRunner(() => 0), prepare: async (target) => constant(target.kind === 'empty' ? 0.001235 : 0.012346) }
  const ms: Measurement[] = []
  await measureTargets({ runner, settings: { ...FAST, warmupMs: 0, minTimeMs: 0, referenceEvery: 0 }, targets: targets(KEYS.slice(0, 1)), onMeasurement: (m) => void ms.push(m) })
  const block = ms.find((m) => m.kind === 'block')!
  t.equal(block.overheadMs, 0.001235)
  t.equal(block.medianMs, 0.011111, '12.346 us gross less 1.235 us overhead, not rounded to 0.1 us')
})

t.test('rounds are interleaved round-robin across the window', async (t) => {
  const log: string[] = []
  const runner = fakeRunner(() => 0, log)
  const preps = await Promise.all(['a', 'b', 'c'].map((key) => runner.prepare({ kind: 'empty', key, inputDims: [1, 1, 1, 1] })))
  log.length = 0
  const out = await timeInterleaved(preps, { ...FAST, warmupMs: 0, warmupRuns: 1, minTimeMs: 0, minRuns: 3, rounds: 3 }, undefined)
  t.same(log, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'], 'warm-up each, then 3 rounds of a, b, c')
  t.ok(out.every((o) => o.rounds.length === 3))
})

t.test('a noisy block is measured again and flagged when it stays noisy', async (t) => {
  const ms: Measurement[] = []
  const log: string[] = []
  await measureTargets({
    runner: fakeRunner((key) => (key === KEYS[0] ? 0.5 : 0.001), log),
    settings: { ...FAST, warmupMs: 0, maxCv: 0.05, referenceEvery: 0 },
    targets: targets(KEYS.slice(0, 3)),
    onMeasurement: (m) => void ms.push(m),
  })
  const byKey = new Map(ms.map((m) => [m.key, m]))
  t.equal(byKey.get(KEYS[0])!.noisy, true)
  t.ok(byKey.get(KEYS[0])!.cv > 0.05)
  t.equal(byKey.get(KEYS[1])!.noisy, false)
  t.ok(log.filter((k) => k === KEYS[0]).length > log.filter((k) => k === KEYS[1]).length, 'the noisy one ran more')
  const blockOrder = ms.filter((m) => m.kind === 'block').map((m) => m.key)
  t.equal(blockOrder.at(-1), KEYS[0], 'measured again at the end of the job, after the quiet ones were reported')
  t.equal(ms.filter((m) => m.kind === 'reference').length, 0, 'referenceEvery 0 disables the reference')
})

/**
 * A runner with scripted timings: `timing(key, reading)` gives the run times of a target's
 * `reading`-th preparation (0 the first time it is measured, 1 when measured again), run by run.
 */
function scriptedRunner(timing: (key: string, reading: number) => (run: number) => number, prepared = new Map<string, number>()): Runner {
  return {
    ...fakeRunner(() => 0),
    async prepare(target) {
      const reading = prepared.get(target.key) ?? 0
      prepared.set(target.key, reading + 1)
      const at = timing(target.key, reading)
      let i = 0
      return {
        inputDims: target.kind === 'empty' ? target.inputDims : [1, 8, 7, 7],
        run: async (count) => Array.from({ length: count }, () => at(i++)),
        release: async () => {},
      }
    },
  }
}

t.test('the median\'s bootstrap interval is reported net of the overhead, to the ns', async (t) => {
  const ms: Measurement[] = []
  // Gross 12 +- 1 us around an overhead of exactly 2 us.
  const runner = scriptedRunner((key) => (run) => (key.startsWith('empty') ? 0.002 : 0.012 + 0.001 * Math.sin(run * 2.4)))
  await measureTargets({ runner, settings: { ...FAST, warmupMs: 0, minTimeMs: 0, referenceEvery: 0 }, targets: targets(KEYS.slice(0, 1)), onMeasurement: (m) => void ms.push(m) })
  const block = ms.find((m) => m.kind === 'block')!
  t.ok(block.ciLowMs! < block.medianMs && block.medianMs < block.ciHighMs!, `${block.ciLowMs} < ${block.medianMs} < ${block.ciHighMs}`)
  t.ok(block.ciLowMs! > 0.009 && block.ciHighMs! < 0.011, 'net of the 2 us overhead')
  t.equal(block.ciLowMs, Math.round(block.ciLowMs! * 1e6) / 1e6, 'rounded to the ns')
  const empty = ms.find((m) => m.kind === 'empty')!
  t.same([empty.ciLowMs, empty.medianMs, empty.ciHighMs], [0.002, 0.002, 0.002], 'every measurement carries one')
  t.notOk('belowOverhead' in block, 'a resolved block is not flagged')
})

t.test('a target not above its overhead is measured again, and flagged belowOverhead only if it stays so', async (t) => {
  const OVERHEAD = 0.01
  const [stays, recovers, resolved, noisyFirst] = KEYS
  const prepared = new Map<string, number>()
  const runner = scriptedRunner((key, reading) => {
    if (key.startsWith('empty')) return () => OVERHEAD
    if (key === stays) return () => OVERHEAD // net 0 both times
    if (key === recovers) return () => (reading === 0 ? OVERHEAD : OVERHEAD + 0.005) // net 0, then 5 us
    if (key === resolved) return () => OVERHEAD + 0.02
    // noisyFirst: a positive but noisy reading, then a quiet one at the overhead: the positive one is kept.
    return reading === 0 ? (run) => OVERHEAD + (run % 2 === 0 ? 0.01 : 0.05) : () => OVERHEAD
  }, prepared)
  const ms: Measurement[] = []
  const progress: number[] = []
  const result = await measureTargets({
    runner,
    settings: { ...FAST, warmupMs: 0, minTimeMs: 0, maxCv: 0.1, referenceEvery: 0 },
    targets: targets([stays, recovers, resolved, noisyFirst]),
    onMeasurement: (m) => void ms.push(m),
    onProgress: (done) => void progress.push(done),
  })
  const blocks = ms.filter((m) => m.kind === 'block')
  t.same(blocks.map((m) => m.key).sort(), [stays, recovers, resolved, noisyFirst].sort(), 'every target reported once')
  t.equal(result.measured, 4)
  t.equal(progress.at(-1), 4)
  const byKey = new Map(blocks.map((m) => [m.key, m]))
  t.same([prepared.get(stays), prepared.get(recovers), prepared.get(resolved), prepared.get(noisyFirst)], [2, 2, 1, 2], 'measured again once, the resolved one not')
  t.equal(byKey.get(stays)!.medianMs, 0)
  t.equal(byKey.get(stays)!.belowOverhead, true, 'still at the overhead the second time: flagged')
  t.equal(byKey.get(stays)!.noisy, false, 'a steady target is not noisy')
  t.equal(byKey.get(recovers)!.medianMs, 0.005, 'the positive second reading is kept')
  t.notOk('belowOverhead' in byKey.get(recovers)!, 'and not flagged')
  t.equal(byKey.get(resolved)!.medianMs, 0.02)
  t.notOk('belowOverhead' in byKey.get(resolved)!)
  const kept = byKey.get(noisyFirst)!
  t.ok(kept.medianMs > 0 && kept.noisy, `a positive noisy reading beats a quiet one at the overhead (median ${kept.medianMs}, cv ${kept.cv})`)
  t.notOk('belowOverhead' in kept)
  t.equal(result.noisy, 1)
  const order = blocks.map((m) => m.key)
  t.equal(order[0], resolved, 'the resolved target is reported first, the others at the end of the job')
})

t.test('cancel stops between runs and reports nothing half-measured', async (t) => {
  const abort = new AbortController()
  const ms: Measurement[] = []
  let doneAtCancel = 0
  const err = await measureTargets({
    runner: createOnnxRuntimeRunner({ threads: 1 }),
    settings: { ...FAST, minTimeMs: 200, referenceEvery: 0 },
    targets: targets(),
    window: 2,
    signal: abort.signal,
    onMeasurement: (m) => void ms.push(m),
    onProgress: (done) => {
      // After the first window that reported a block (one that came out noisy waits for the end).
      if (done >= 1 && !abort.signal.aborted) {
        doneAtCancel = done
        abort.abort('test cancel')
      }
    },
  }).catch((e) => e)
  t.equal(err.code, MeasureCanceled.code)
  t.equal(doneAtCancel, 1, 'windows of 2 slots: one block each')
  t.equal(ms.filter((m) => m.kind === 'block').length, doneAtCancel, 'what was reported before the cancel, nothing after')
})

t.test('architectures are measured whole, reported as kind architecture with their id', async (t) => {
  const id = 'g0.5_conv-k3-w16-mp_dwsep-k3-w16-mp'
  const ms: Measurement[] = []
  await measureTargets({
    runner: createOnnxRuntimeRunner({ threads: 1 }),
    settings: { ...FAST, referenceEvery: 0 },
    targets: [{ kind: 'architecture', key: id, arch: parseArchitectureId(id) }],
    onMeasurement: (m) => void ms.push(m),
  })
  const archs = ms.filter((m) => m.kind === 'architecture')
  t.same(archs.map((m) => m.key), [id], 'reported once, under its id')
  t.same(new Set(ms.map((m) => m.kind)), new Set(['empty', 'architecture']))
  // Measured again if noisy: then the empty graph of either window may be the one subtracted.
  const empties = ms.slice(0, ms.indexOf(archs[0])).filter((m) => m.key === 'empty-i28x28x1')
  t.ok(empties.length >= 1 && empties.some((e) => e.medianMs === archs[0].overheadMs), 'the empty graph of its input, timed beside it, is subtracted')
})

t.test('planWindows: every target once, one input shape per window where possible, seeded order', async (t) => {
  const keys = [
    ...Array.from({ length: 25 }, (_, i) => `conv-k3-s1-i7x7x8-o7x7x${8 * (i + 1)}-bn-relu`),
    ...Array.from({ length: 15 }, (_, i) => `conv-k3-s1-i14x14x8-o14x14x${8 * (i + 1)}-bn-relu`),
    'conv-k3-s1-i3x3x16-o3x3x8-bn-relu',
    'conv-k3-s1-i2x2x16-o2x2x8-bn-relu',
  ]
  const all = targets(keys)
  const shape = (k: string) => /-i(\d+x\d+x\d+)-/.exec(k)![1]
  const windows = planWindows(all, 12, 'job-1')
  t.same(windows.flat().map((w) => w.key).sort(), [...keys].sort(), 'every target exactly once')
  for (const w of windows) {
    const shapes = new Set(w.map((x) => shape(x.key)))
    t.ok(w.length + shapes.size <= 12, `${w.length} targets + ${shapes.size} empty graph(s) fit 12 slots`)
  }
  const chunks = windows.flatMap((w) => {
    const count = new Map<string, number>()
    for (const x of w) count.set(shape(x.key), (count.get(shape(x.key)) ?? 0) + 1)
    return [...count.values()]
  })
  t.same(chunks.sort((a, b) => a - b), [1, 1, 7, 7, 8, 9, 9], 'same-shape targets together, in even chunks: 25 -> 9+9+7, 15 -> 8+7')
  t.ok(windows.length < chunks.length, `small chunks share a window (${windows.length} windows)`)
  t.same(planWindows(all, 12, 'job-1'), windows, 'deterministic by seed')
  t.not(planWindows(all, 12, 'job-2').map((w) => w[0].key).join(), windows.map((w) => w[0].key).join(), 'another seed, another order')
})

t.test('passes: each target timed in that many windows, its rounds pooled; the interval spans a slow spell', async (t) => {
  // A block's second preparation (its second pass) runs 4 us slower: host noise in a spell longer than a window.
  const gross = (reading: number) => 0.02 + 0.004 * reading
  const run = async (passes: number, keys: string[], window = 4) => {
    const prepared = new Map<string, number>()
    const runner = scriptedRunner((key, reading) => (key.startsWith('empty') ? () => 0.002 : () => gross(reading)), prepared)
    const ms: Measurement[] = []
    const progress: number[] = []
    await measureTargets({
      runner,
      settings: { ...FAST, warmupMs: 0, minTimeMs: 0, maxCv: 0.5, referenceEvery: 0, passes },
      targets: targets(keys),
      window,
      onMeasurement: (m) => void ms.push(m),
      onProgress: (done) => void progress.push(done),
    })
    return { blocks: ms.filter((m) => m.kind === 'block'), prepared, progress }
  }
  const one = await run(1, KEYS.slice(0, 3))
  for (const m of one.blocks) t.same([m.ciLowMs, m.medianMs, m.ciHighMs, m.rounds], [0.018, 0.018, 0.018, 3], `one pass: ${m.key} sees one spell and is sure of it`)
  const two = await run(2, KEYS.slice(0, 3))
  t.same(
    [...two.prepared].filter(([k]) => !k.startsWith('empty')).map(([, n]) => n),
    [2, 2, 2],
    'two passes: every target prepared twice',
  )
  for (const m of two.blocks) {
    t.equal(m.rounds, 6, `${m.key}: both passes' rounds in one measurement`)
    t.ok(m.samples >= FAST.minRuns, `${m.key}: ${m.samples} runs in all (a passes-th each)`)
    t.ok(m.medianMs > 0.018 && m.medianMs < 0.022, `${m.key}: median ${m.medianMs} between the spells`)
    t.ok(m.ciLowMs! <= 0.018 && m.ciHighMs! >= 0.022, `${m.key}: interval [${m.ciLowMs}, ${m.ciHighMs}] covers both`)
    t.equal(m.overheadMs, 0.002)
  }
  // More windows than a group holds: groups are measured (and reported) one after the other.
  const many = Array.from({ length: 60 }, (_, i) => `conv-k3-s1-i7x7x8-o7x7x${8 + i}-bn-relu`)
  const big = await run(2, many, 2)
  t.same(big.blocks.map((m) => m.key).sort(), [...many].sort(), 'every target reported once')
  t.ok([...big.prepared].filter(([k]) => !k.startsWith('empty')).every(([, n]) => n === 2), 'each prepared once per pass')
  t.ok(big.progress.length >= 3 && big.progress.at(-1) === 60, `progress by group: ${big.progress.join(', ')}`)
})
