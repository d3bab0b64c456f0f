import t from 'tap'
import { architectureId, createRng, sampleArchitectures, blockKey, architectureBlocks, type Architecture } from '@fleetnas/shared'
import { architectureFeatures, FEATURES, type LutRow } from './features.ts'
import { fitLatencyModel, heldOutErrorQuantile, MIN_CALIBRATION, predictLinear, type CalibrationPoint } from './fit.ts'
import { agreement, kendallTau } from './fit-stats.ts'

/** A LUT where every block's net median is a fixed function of its key. */
function syntheticLut(archs: Architecture[]): Map<string, LutRow> {
  const rng = createRng('lut')
  const lut = new Map<string, LutRow>()
  for (const a of archs)
    for (const b of architectureBlocks(a)) {
      const key = blockKey(b)
      if (!lut.has(key)) {
        const ms = 0.005 + rng.next() * 0.2
        lut.set(key, { medianMs: ms, overheadMs: 0.005, ciLowMs: ms * 0.98, ciHighMs: ms * 1.02, belowOverhead: false })
      }
    }
  return lut
}

/** The "device": in a whole graph, conv runs 10% faster than alone and each block saves 3 us of boundary cost. */
const CALL_MS = 0.006
function truth(a: Architecture, lut: Map<string, LutRow>): number {
  let ms = CALL_MS
  for (const b of architectureBlocks(a)) ms += (b.op === 'conv' ? 0.9 : 1) * lut.get(blockKey(b))!.medianMs - (b.op === 'head' ? 0 : 0.003)
  return ms
}

/** `n` seeded architectures measured on the synthetic device with relative noise of sd `noiseSd`. */
function noisyCalibration(seed: string, n: number, noiseSd: number): CalibrationPoint[] {
  const archs = sampleArchitectures(createRng(seed), n)
  const lut = syntheticLut(archs)
  const noise = createRng(`${seed}-noise`)
  return archs.map((a) => ({
    id: architectureId(a),
    measuredMs: truth(a, lut) * (1 + noiseSd * noise.normal()),
    features: architectureFeatures(a, (k) => lut.get(k)).values,
  }))
}

t.test('the fit learns what the bare sum gets wrong, and its held-out report says so', async (t) => {
  const points = noisyCalibration('calib', 150, 0.005)
  const model = fitLatencyModel(points.slice(0, 100), CALL_MS)
  t.equal(model.kind, 'fitted')
  t.equal(model.n, 100)
  t.ok(model.report!.heldOut.within5 > model.report!.blockSum.within5, `held-out within 5%: ${model.report!.heldOut.within5} vs bare sum ${model.report!.blockSum.within5}`)
  t.ok(model.report!.blockSum.medianError > 0.02, 'the bare sum over-predicts this device')
  t.equal(model.points.length, 100, 'every calibration architecture has a held-out prediction')
  t.ok(model.interval!.low < 0 && model.interval!.high > 0, 'the interval brackets 0')

  // Architectures the fit never saw.
  const fresh = points.slice(100)
  const predicted = fresh.map((p) => predictLinear(model.coefficients, p.features))
  const a = agreement(predicted, fresh.map((p) => p.measuredMs))
  t.ok(a.within5 >= 0.95, `new architectures within 5%: ${a.within5}`)
  t.ok(a.kendallTau > 0.95, `rank agreement ${a.kendallTau}`)
})

t.test('a fifth of the calibration set measured 30-70% slow (shared cores) does not drag the typical prediction up', async (t) => {
  const archs = sampleArchitectures(createRng('calib'), 150)
  const lut = syntheticLut(archs)
  const noise = createRng('contention')
  const points: CalibrationPoint[] = archs.map((a, i) => ({
    id: architectureId(a),
    // Only the calibration part (the first 100) carries the slow runs; the fresh ones are what the device does.
    measuredMs: truth(a, lut) * (1 + 0.01 * noise.normal()) * (i < 100 && noise.next() < 0.2 ? 1.3 + 0.4 * noise.next() : 1),
    features: architectureFeatures(a, (k) => lut.get(k)).values,
  }))
  const model = fitLatencyModel(points.slice(0, 100), CALL_MS)
  const fresh = points.slice(100)
  const a = agreement(
    fresh.map((p) => predictLinear(model.coefficients, p.features)),
    fresh.map((p) => p.measuredMs),
  )
  // Plain least squares on these points: 86% within 5%, median error +3.1%.
  t.ok(a.within5 >= 0.95, `new architectures within 5%: ${a.within5}`)
  t.ok(Math.abs(a.medianError) < 0.01, `median error ${a.medianError}`)
})

t.test('too few calibration architectures: the bare sum, labelled as such', async (t) => {
  const archs = sampleArchitectures(createRng('few'), MIN_CALIBRATION - 1)
  const lut = syntheticLut(archs)
  const points = archs.map((a) => ({ id: architectureId(a), measuredMs: truth(a, lut), features: architectureFeatures(a, (k) => lut.get(k)).values }))
  const model = fitLatencyModel(points, CALL_MS)
  t.equal(model.kind, 'block-sum')
  t.equal(model.report, null)
  const f = architectureFeatures(archs[0], (k) => lut.get(k))
  t.equal(predictLinear(model.coefficients, f.values), CALL_MS + f.blockSumMs, 'net medians summed plus one call overhead')
})

t.test('features: missing and below-overhead blocks are named, never guessed', async (t) => {
  const [arch] = sampleArchitectures(createRng('one'), 1)
  const keys = architectureBlocks(arch).map(blockKey)
  const lut = new Map<string, LutRow>(keys.slice(1).map((k) => [k, { medianMs: 0, overheadMs: 0.004, ciLowMs: 0, ciHighMs: 0.001, belowOverhead: true }]))
  const f = architectureFeatures(arch, (k) => lut.get(k))
  t.same(f.missing, [keys[0]])
  t.same(f.belowOverhead, keys.slice(1))
  t.equal(f.values.length, FEATURES.length)
  t.equal(f.values[FEATURES.indexOf('blocks.conv')] + f.values[FEATURES.indexOf('blocks.dwsep')] + f.values[FEATURES.indexOf('blocks.mbconv')], keys.length - 2, 'layer blocks found, head apart')
})

t.test('Kendall tau', async (t) => {
  t.equal(kendallTau([1, 2, 3, 4], [10, 20, 30, 40]), 1)
  t.equal(kendallTau([1, 2, 3, 4], [40, 30, 20, 10]), -1)
  t.ok(Math.abs(kendallTau([1, 2, 3, 4], [1, 3, 2, 4]) - 2 / 3) < 1e-12)
})

t.test('held-out error quantiles: a bound that covers that share of new architectures; none for the bare sum', async (t) => {
  // Measurements with 5% noise: the bound must widen the prediction to cover them.
  const points = noisyCalibration('bound', 300, 0.05)
  const model = fitLatencyModel(points.slice(0, 150), CALL_MS)
  const q90 = heldOutErrorQuantile(model, 0.9)!
  const q50 = heldOutErrorQuantile(model, 0.5)!
  t.ok(q90 > 0.03 && q90 < 0.12, `90% quantile of held-out errors ${q90.toFixed(3)} (noise sd 5%)`)
  t.ok(q50 < q90)
  const fresh = points.slice(150)
  const covered = fresh.filter((p) => p.measuredMs <= predictLinear(model.coefficients, p.features) * (1 + q90)).length / fresh.length
  t.ok(covered >= 0.8 && covered <= 0.97, `the bound covers ${(covered * 100).toFixed(1)}% of 150 new architectures`)
  const bare = predictLinear(model.coefficients, fresh[0].features)
  t.ok(fresh.filter((p) => p.measuredMs <= predictLinear(model.coefficients, p.features)).length / fresh.length < covered, `the bare prediction covers fewer (e.g. ${bare.toFixed(4)} ms)`)
  t.equal(heldOutErrorQuantile(fitLatencyModel(points.slice(0, MIN_CALIBRATION - 1), CALL_MS), 0.9), null)
})
