import t from 'tap'
import { createRng, hashString } from './random.ts'

const draw = (seed: number | string, n = 50) => {
  const rng = createRng(seed)
  return Array.from({ length: n }, () => rng.next())
}

t.test('same seed gives the same sequence, different seeds differ', async (t) => {
  t.same(draw(42), draw(42))
  t.same(draw('campaign-1'), draw('campaign-1'))
  t.notSame(draw(42), draw(43))
  t.notSame(draw('a'), draw('b'))
  // A string seed is its hash; the default seed is 1.
  t.same(draw('conv4'), draw(hashString('conv4')))
  const a = createRng()
  const b = createRng(1)
  t.equal(a.next(), b.next())
})

t.test('next is uniform in [0, 1)', async (t) => {
  const rng = createRng(3)
  const n = 20000
  const bins = new Array(10).fill(0)
  let sum = 0
  let outside = 0
  for (let i = 0; i < n; i++) {
    const x = rng.next()
    if (!(x >= 0 && x < 1)) outside++
    bins[Math.floor(x * 10)]++
    sum += x
  }
  t.equal(outside, 0, 'all in [0, 1)')
  t.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`)
  // Each decile within 10% of n/10 (about 5 standard deviations).
  for (const c of bins) t.ok(Math.abs(c - n / 10) < n / 100, `bin count ${c}`)
})

t.test('int stays in [0, n) and hits every value', async (t) => {
  const rng = createRng(5)
  for (const n of [1, 2, 3, 7, 10, 1000]) {
    const seen = new Set<number>()
    for (let i = 0; i < 20 * n + 50; i++) {
      const k = rng.int(n)
      if (!Number.isInteger(k) || k < 0 || k >= n) t.fail(`int(${n}) gave ${k}`)
      seen.add(k)
    }
    if (n <= 10) t.equal(seen.size, n, `int(${n}) covers all values`)
  }
  t.equal(createRng(9).int(1), 0)
})

t.test('pick returns a member and refuses an empty list', async (t) => {
  const rng = createRng(11)
  const items = ['a', 'b', 'c'] as const
  const seen = new Set<string>()
  for (let i = 0; i < 100; i++) seen.add(rng.pick(items))
  t.same([...seen].sort(), ['a', 'b', 'c'])
  t.throws(() => rng.pick([]))
})

t.test('shuffle is an in-place permutation, seeded and roughly uniform', async (t) => {
  const rng = createRng(13)
  for (const n of [0, 1, 2, 5, 100]) {
    const items = Array.from({ length: n }, (_, i) => i)
    const out = rng.shuffle(items)
    t.equal(out, items, 'same array back')
    t.same([...out].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `permutation of ${n}`)
  }
  t.same(createRng(21).shuffle([1, 2, 3, 4, 5, 6]), createRng(21).shuffle([1, 2, 3, 4, 5, 6]))
  // All 6 orders of 3 items appear about equally often (Fisher-Yates without bias).
  const counts = new Map<string, number>()
  const r = createRng(17)
  const trials = 6000
  for (let i = 0; i < trials; i++) {
    const k = r.shuffle([0, 1, 2]).join('')
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  t.equal(counts.size, 6)
  for (const [k, c] of counts) t.ok(Math.abs(c - trials / 6) < 150, `order ${k}: ${c}`)
})

t.test('normal has mean 0 and variance 1', async (t) => {
  const rng = createRng(19)
  const n = 20000
  let s = 0
  let s2 = 0
  let nonFinite = 0
  for (let i = 0; i < n; i++) {
    const x = rng.normal()
    if (!Number.isFinite(x)) nonFinite++
    s += x
    s2 += x * x
  }
  const mean = s / n
  const variance = s2 / n - mean * mean
  t.equal(nonFinite, 0)
  t.ok(Math.abs(mean) < 0.05, `mean ${mean}`)
  t.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`)
})

t.test('fork is deterministic and independent of its parent', async (t) => {
  const a = createRng(23)
  const b = createRng(23)
  const fa = a.fork()
  const fb = b.fork()
  const seqA = Array.from({ length: 20 }, () => fa.next())
  t.same(seqA, Array.from({ length: 20 }, () => fb.next()), 'same parent state, same fork')
  // Parent continues unaffected by draws from the child.
  const parentAfter = Array.from({ length: 20 }, () => a.next())
  const c = createRng(23)
  c.fork()
  t.same(Array.from({ length: 20 }, () => c.next()), parentAfter, 'child draws do not move the parent')
  t.notSame(seqA, parentAfter, 'child and parent streams differ')
  // Two successive forks differ from each other.
  const p = createRng(29)
  const f1 = p.fork()
  const f2 = p.fork()
  t.notSame(
    Array.from({ length: 20 }, () => f1.next()),
    Array.from({ length: 20 }, () => f2.next()),
  )
  // Correlation between a child and its parent stream is near zero.
  const q = createRng(31)
  const child = q.fork()
  const n = 5000
  const xs = Array.from({ length: n }, () => q.next() - 0.5)
  const ys = Array.from({ length: n }, () => child.next() - 0.5)
  const cov = xs.reduce((s, x, i) => s + x * ys[i], 0) / n
  t.ok(Math.abs(cov / (1 / 12)) < 0.05, `correlation ${cov * 12}`)
})

t.test('hashString is stable and 32-bit unsigned', async (t) => {
  t.equal(hashString(''), 2166136261)
  t.equal(hashString('a'), hashString('a'))
  t.not(hashString('ab'), hashString('ba'))
  for (const s of ['x', 'fleetnas', 'a much longer string with spaces']) {
    const h = hashString(s)
    t.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32)
  }
})
