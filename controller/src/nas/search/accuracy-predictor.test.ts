import t from 'tap'
import { createRng, DEFAULT_SPACE, sampleArchitectures, type Architecture } from '@fleetnas/shared'
import { kendallTau } from '../../latency/fit-stats.ts'
import { accuracyPredictorFromJson, fitAccuracyPredictor, MIN_SAMPLES, type AccuracySample } from './accuracy-predictor.ts'
import { architectureEncoding } from './architecture-encoding.ts'
import { peakedAccuracy, syntheticAccuracy } from './synthetic.fixture.ts'

const archs = sampleArchitectures(createRng('predictor-test'), 1500)
const train = archs.slice(0, 800)
const heldOut = archs.slice(800)

/** Pairs as a few-shot evaluation would give them: the true accuracy plus a 1-point standard error. */
function pairs(f: (a: Architecture) => number, set: readonly Architecture[], seed: string): AccuracySample[] {
  const noise = createRng(seed)
  return set.map((architecture) => ({ architecture, accuracy: f(architecture) + 0.01 * noise.normal() }))
}

t.test('recovers the ranking of synthetic accuracy functions on held-out architectures', async (t) => {
  for (const [name, f, floor] of [
    ['smooth capacity', syntheticAccuracy, 0.9],
    ['peaked by over-fitting', peakedAccuracy, 0.8],
  ] as const) {
    const p = fitAccuracyPredictor(pairs(f, train, name))
    const tau = kendallTau(p.predict(heldOut), heldOut.map(f))
    t.ok(tau > floor, `${name}: Kendall tau ${tau.toFixed(3)} on ${heldOut.length} new architectures (cross-validated ${p.report.heldOut.kendallTau.toFixed(3)})`)
    t.ok(Math.abs(p.report.heldOut.kendallTau - tau) < 0.1, 'the report’s cross-validated tau tells what to expect')
    t.equal(p.report.n, train.length)
    t.ok(p.report.heldOut.rmse > 0.005 && p.report.heldOut.rmse < 0.05, `held-out rmse ${p.report.heldOut.rmse.toFixed(4)}`)
  }
})

t.test('round-trips through JSON with identical predictions; deterministic per seed', async (t) => {
  for (const kind of ['kernel-ridge', 'ridge'] as const) {
    const p = fitAccuracyPredictor(pairs(syntheticAccuracy, train.slice(0, 300), 'json'), { seed: 5, kind })
    t.equal(p.kind, kind)
    const text = JSON.stringify(p)
    const back = accuracyPredictorFromJson(JSON.parse(text))
    t.same(back.predict(heldOut), p.predict(heldOut))
    t.same(back.report, p.report)
    t.equal(JSON.stringify(back), text)
    t.equal(JSON.stringify(fitAccuracyPredictor(pairs(syntheticAccuracy, train.slice(0, 300), 'json'), { seed: 5, kind })), text)
  }
})

t.test('from a few dozen pairs, kernel ridge stays near the best pair it saw; the linear fit promises more', async (t) => {
  // 48 pairs, as a request fits; the search then scores thousands of architectures no pair is near.
  const few = pairs(syntheticAccuracy, train.slice(0, 48), 'few-dozen')
  const best = Math.max(...few.map((p) => p.accuracy))
  const many = sampleArchitectures(createRng('far away'), 3000)
  const kernelTop = Math.max(...fitAccuracyPredictor(few).predict(many))
  const linearTop = Math.max(...fitAccuracyPredictor(few, { kind: 'ridge' }).predict(many))
  t.ok(kernelTop <= best + 0.03, `kernel ridge: highest prediction ${kernelTop.toFixed(3)}, best pair ${best.toFixed(3)}`)
  t.ok(linearTop > kernelTop, `linear ridge extrapolates further (${linearTop.toFixed(3)})`)
})

t.test('ranks thousands of candidates per second', async (t) => {
  const p = fitAccuracyPredictor(pairs(syntheticAccuracy, train.slice(0, 200), 'speed'))
  const many = sampleArchitectures(createRng('many'), 5000)
  const t0 = performance.now()
  p.predict(many)
  const perSecond = many.length / ((performance.now() - t0) / 1000)
  t.ok(perSecond > 5000, `${Math.round(perSecond)} architectures/s`)
})

t.test('refuses too few pairs, pairs outside the space, and JSON it did not write', async (t) => {
  const few = pairs(syntheticAccuracy, train.slice(0, MIN_SAMPLES - 1), 'few')
  t.throws(() => fitAccuracyPredictor(few), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_DATA' })
  const bad = pairs(syntheticAccuracy, train.slice(0, 20), 'bad')
  bad[3] = { architecture: { g: 3, blocks: bad[3].architecture.blocks }, accuracy: 0.5 }
  bad[4] = { ...bad[4], accuracy: NaN }
  t.throws(() => fitAccuracyPredictor(bad), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_DATA', message: /pair 3: .*g 3.*pair 4: accuracy NaN/ })

  const json = fitAccuracyPredictor(pairs(syntheticAccuracy, train.slice(0, 50), 'ok'), { kind: 'ridge' }).toJSON()
  if (json.kind !== 'ridge') throw new Error('a ridge fit')
  const kernel = fitAccuracyPredictor(pairs(syntheticAccuracy, train.slice(0, 50), 'ok')).toJSON()
  if (kernel.kind !== 'kernel-ridge') throw new Error('the default is kernel ridge')
  t.throws(() => accuracyPredictorFromJson({ ...kernel, alpha: kernel.alpha.slice(1) }), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID' })
  t.throws(() => accuracyPredictorFromJson({ ...kernel, rows: kernel.rows.map((r) => r.slice(1)) }), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID' })
  t.throws(() => accuracyPredictorFromJson({ ...json, kind: 'mlp' }), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID' })
  t.throws(() => accuracyPredictorFromJson({ ...json, features: json.features.slice(1) }), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID' })
  t.throws(() => accuracyPredictorFromJson({ ...json, coefficients: json.coefficients.slice(1) }), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID' })
  t.throws(() => accuracyPredictorFromJson('{}'), { code: 'FLEETNAS_ERR_SEARCH_PREDICTOR_INVALID' })
  // Another space: its own encoding; an architecture outside it is an invalid spec, not a silent zero.
  const small = { ...DEFAULT_SPACE, widths: [16, 32] }
  const other = accuracyPredictorFromJson({ ...json, space: small, features: architectureEncoding(small).names, coefficients: architectureEncoding(small).names.map(() => 0) })
  t.throws(() => other.predict([{ g: 1, blocks: [0, 1].map(() => ({ op: 'conv' as const, kernel: 3, width: 64, down: 'none' as const })) }]), {
    code: 'FLEETNAS_ERR_SPEC_INVALID',
  })
})

t.test('the encoding: one-hots per active slot, zeros for inactive slots, numeric features last', async (t) => {
  const enc = architectureEncoding()
  const arch: Architecture = { g: 1.5, blocks: [{ op: 'mbconv', kernel: 5, width: 24, down: 'stride', expand: 2 }, { op: 'conv', kernel: 3, width: 64, down: 'none' }] }
  const v = enc.encode(arch)
  const on = enc.names.filter((n, i) => v[i] === 1 && !n.includes('log2'))
  t.same(on, ['g=1.5', 'depth=2', 's0.op=mbconv', 's0.k=5', 's0.w=24', 's0.down=stride', 's0.e=2', 's1.op=conv', 's1.k=3', 's1.w=64', 's1.down=none'])
  t.ok(enc.names.every((n, i) => !/^s[234]\./.test(n) || v[i] === 0), 'inactive slots are zero')
  t.ok(v[enc.names.indexOf('log2-macs')] > 10)
})
