import t from 'tap'
import { median, quantileSorted, robustCv, summarizeTimings } from './stats.ts'

t.test('quantiles and median', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
  t.equal(quantileSorted([0, 10], 0.1), 1)
})

t.test('median of round medians resists a burst in one round', async (t) => {
  const calm = Array.from({ length: 20 }, (_, i) => 1 + (i % 5) * 0.01)
  const burst = Array.from({ length: 20 }, () => 3)
  const s = summarizeTimings([calm, burst, calm])
  t.ok(s.medianMs < 1.05, `median ${s.medianMs}`)
  t.ok(s.meanMs > 1.5, 'the mean sees the burst')
  t.equal(s.samples, 60)
  t.equal(s.rounds, 3)
  t.ok(s.p90Ms >= 3 - 1e-9)
})

t.test('overhead is subtracted from location figures, not from spread', async (t) => {
  const xs = [1.0, 1.1, 0.9, 1.05, 0.95]
  const raw = summarizeTimings([xs])
  const net = summarizeTimings([xs], 0.5)
  t.equal(+(raw.medianMs - net.medianMs).toFixed(9), 0.5)
  t.equal(+(raw.meanMs - net.meanMs).toFixed(9), 0.5)
  t.equal(net.stdMs, raw.stdMs)
  t.equal(net.cv, raw.cv)
  t.equal(summarizeTimings([xs], 5).medianMs, 0, 'never below zero')
})

t.test('robust cv ignores a rare outlier and matches std/mean for normal noise', async (t) => {
  const xs = Array.from({ length: 200 }, (_, i) => 1 + 0.02 * Math.sin(i * 12.9898))
  const withOutlier = [...xs.slice(1), 50]
  t.ok(robustCv(withOutlier) < 0.03)
  t.ok(summarizeTimings([withOutlier]).stdMs > 1, 'std still shows it')
  t.equal(robustCv([0, 0]), 0)
  const twoModes = Array.from({ length: 101 }, (_, i) => (i % 2 === 0 ? 1 : 2))
  t.ok(robustCv(twoModes) > 0.3, 'a two-mode timing is noisy, whatever the balance')
  t.throws(() => summarizeTimings([[], []]))
})
