import t from 'tap'
import { noiseBySize, noiseFigures, quantile, relDiff, repeatability, type BlockRow } from './figures.ts'

const row = (key: string, medianMs: number, cv = 0.01, noisy = false, overheadMs = 0): BlockRow => ({ key, medianMs, overheadMs, cv, noisy })

t.test('quantile interpolates linearly and ignores input order', async (t) => {
  t.equal(quantile([3, 1, 2], 0.5), 2)
  t.equal(quantile([1, 2, 3, 4], 0.5), 2.5)
  t.equal(quantile([10, 0], 0.9), 9)
  t.ok(Number.isNaN(quantile([], 0.5)), 'no values: NaN, not a fake zero')
})

t.test('noise figures: median cv, share above the limit, noisy flags', async (t) => {
  const f = noiseFigures([row('a', 1, 0.01), row('b', 1, 0.02), row('c', 1, 0.06, true), row('d', 1, 0.05)], 0.05)
  t.equal(f.blocks, 4)
  t.equal(f.medianCv, 0.035)
  t.equal(f.shareOverLimit, 0.25, 'exactly at the limit is not above it')
  t.equal(f.noisyFlags, 1)
})

t.test('repeatability: symmetric relative difference over common keys only', async (t) => {
  t.ok(Math.abs(relDiff(1, 1.1) - 0.1 / 1.05) < 1e-12, "difference over the mean")
  t.equal(relDiff(1.1, 1), relDiff(1, 1.1), "symmetric")
  t.equal(relDiff(0, 0), 0, 'two zero medians agree')
  const a = [row('x', 1), row('y', 2), row('z', 4), row('only-a', 9)]
  const b = [row('x', 1), row('y', 2.2), row('z', 4), row('only-b', 9)]
  const r = repeatability(a, b)
  t.equal(r.common, 3)
  t.equal(r.medianRelDiff, 0, 'two of three identical')
  t.ok(r.p90RelDiff > 0.07 && r.p90RelDiff < 0.1)
  t.equal(r.shareOver10, 0)
})

t.test('repeatability gross adds the overhead back', async (t) => {
  const r = repeatability([row('x', 0.1, 0.01, false, 1)], [row('x', 0.2, 0.01, false, 1)])
  t.ok(r.medianRelDiff > 0.6, 'net medians differ a lot')
  t.ok(r.medianRelDiffGross < 0.1, 'gross times differ little')
})

t.test('noise by size: blocks banded by gross time (median + overhead)', async (t) => {
  const bands = noiseBySize([row('tiny', 0.005, 0.08, false, 0.007), row('tiny2', 0.004, 0.02, false, 0.007), row('mid', 0.3, 0.03), row('big', 2, 0.01)], 0.05)
  t.same(bands.map((b) => b.blocks), [2, 0, 1, 1], 'the overhead counts towards a block\'s band')
  t.equal(bands[0].medianCv, 0.05)
  t.equal(bands[0].shareOverLimit, 0.5)
  t.ok(Number.isNaN(bands[1].medianCv), 'an empty band has no figures')
})
