import t from 'tap'
import { createRng } from '@fleetnas/shared'
import { bootstrapMedians, median, quantileSorted, robustCv, summarizeTimings } from './stats.ts'

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

/** Scripted timings: `rounds` rounds of `n` samples around 1 ms with 5% noise, seeded. */
function scripted(rounds: number, n: number, seed = 7): number[][] {
  const rng = createRng(seed)
  return Array.from({ length: rounds }, () => Array.from({ length: n }, () => 1 + 0.05 * rng.normal()))
}

t.test('the bootstrap interval contains the median and narrows with more samples', async (t) => {
  let lastWidth = Infinity
  for (const n of [5, 20, 200, 2000]) {
    for (const rounds of [1, 3, 8]) {
      const s = summarizeTimings(scripted(rounds, n))
      t.ok(s.ciLowMs <= s.medianMs && s.medianMs <= s.ciHighMs, `${rounds} x ${n}: ${s.ciLowMs} <= ${s.medianMs} <= ${s.ciHighMs}`)
    }
    const s = summarizeTimings(scripted(3, n))
    const width = s.ciHighMs - s.ciLowMs
    t.ok(width > 0 && width < lastWidth, `3 rounds of ${n}: width ${width.toFixed(5)} < ${lastWidth.toFixed(5)}`)
    lastWidth = width
  }
  // Normal noise, sd 0.05: the median of ~6000 samples has a standard error near 0.0008 ms.
  t.ok(lastWidth < 0.01, `6000 samples: width ${lastWidth}`)
  t.same(summarizeTimings(scripted(3, 50)), summarizeTimings(scripted(3, 50)), 'seeded: the same timings give the same interval')
  const one = summarizeTimings([[0.7]])
  t.same([one.ciLowMs, one.medianMs, one.ciHighMs], [0.7, 0.7, 0.7], 'one sample: a zero-width interval')
})

t.test('a burst in one round widens the interval (rounds are resampled too)', async (t) => {
  const calm = scripted(3, 200)
  const burst = [calm[0], calm[1].map((v) => v * 3), calm[2]]
  const a = summarizeTimings(calm)
  const b = summarizeTimings(burst)
  t.ok(b.ciHighMs - b.ciLowMs > 3 * (a.ciHighMs - a.ciLowMs), `${b.ciLowMs}..${b.ciHighMs} against ${a.ciLowMs}..${a.ciHighMs}`)
  t.ok(b.medianMs < 1.05, 'while the median itself resists it')
})

t.test('the interval is net of the overhead, clamped at zero like the median', async (t) => {
  const rounds = scripted(3, 100)
  const raw = summarizeTimings(rounds)
  const net = summarizeTimings(rounds, 0.5)
  t.equal(+(raw.ciLowMs - net.ciLowMs).toFixed(9), 0.5)
  t.equal(+(raw.ciHighMs - net.ciHighMs).toFixed(9), 0.5)
  const under = summarizeTimings(rounds, raw.medianMs)
  t.equal(under.medianMs, 0)
  t.equal(under.ciLowMs, 0, 'the low end clamps at 0')
  t.ok(under.ciHighMs > 0, 'the high end still shows how far above 0 it may be')
  const all = summarizeTimings(rounds, 5)
  t.same([all.ciLowMs, all.medianMs, all.ciHighMs], [0, 0, 0])
})

/** The bootstrap as written in its definition: resample rounds, then samples, take medians. */
function literalBootstrap(rounds: number[][], resamples: number, seed: number): number[] {
  const rng = createRng(seed)
  const out: number[] = []
  for (let i = 0; i < resamples; i++) {
    const picked = rounds.map(() => rounds[rng.int(rounds.length)])
    out.push(median(picked.map((r) => median(r.map(() => r[rng.int(r.length)])))))
  }
  return out
}

t.test('bootstrapMedians draws the same distribution as literal two-level resampling', async (t) => {
  const cases: [string, number[][]][] = [
    ['short rounds, odd and even (exact draws)', [[1, 2, 3, 4, 5, 6], [2, 4, 6, 8, 10, 12, 14], [3, 3.5, 9]]],
    ['long rounds (normal approximation of the order statistic)', [
      Array.from({ length: 80 }, (_, i) => (i * i) / 100),
      Array.from({ length: 71 }, (_, i) => Math.sqrt(i)),
      Array.from({ length: 64 }, (_, i) => 2 + Math.sin(i)),
    ]],
  ]
  const N = 20000
  for (const [name, rounds] of cases) {
    const sorted = rounds.map((r) => [...r].sort((a, b) => a - b))
    const fast = [...bootstrapMedians(sorted, N, createRng(5))].sort((a, b) => a - b)
    const slow = literalBootstrap(rounds, N, 9).sort((a, b) => a - b)
    // Kolmogorov-Smirnov distance between the two empirical distributions.
    let ks = 0
    for (let i = 0, j = 0; i < N || j < N; ) {
      const v = Math.min(fast[i] ?? Infinity, slow[j] ?? Infinity)
      while (i < N && fast[i] === v) i++
      while (j < N && slow[j] === v) j++
      ks = Math.max(ks, Math.abs(i - j) / N)
    }
    t.ok(ks < 0.02, `${name}: KS distance ${ks.toFixed(4)}`)
  }
})
