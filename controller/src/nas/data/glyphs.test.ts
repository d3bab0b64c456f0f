import t from 'tap'
import { createRng } from '@fleetnas/shared'
import { createGlyphDataset, resolveGlyphOptions } from './glyphs.ts'
import { createTaskSampler } from './tasks.ts'

const dist2 = (a: Float32Array, b: Float32Array) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2
  return s
}

t.test('same seed gives identical tasks, in any access order, across instances', async (t) => {
  const opts = { seed: 42, classes: { train: 100, val: 20, test: 20 } }
  const a = createTaskSampler(createGlyphDataset(opts), { way: 5, shot: 1, query: 5, split: 'train' })
  const bData = createGlyphDataset(opts)
  // Touch other images first: results must not depend on cache state or order.
  for (const c of bData.classes('train').slice(50)) c.image(3)
  const b = createTaskSampler(bData, { way: 5, shot: 1, query: 5, split: 'train' })
  t.same(a.sample(createRng(9)), b.sample(createRng(9)))
  const other = createTaskSampler(createGlyphDataset({ ...opts, seed: 43 }), { way: 5, shot: 1, query: 5, split: 'train' })
  t.notSame(a.sample(createRng(9)).support.x, other.sample(createRng(9)).support.x, 'another seed, other glyphs')
})

t.test('default splits and describe()', async (t) => {
  const ds = createGlyphDataset()
  t.same(ds.shape, { channels: 1, height: 28, width: 28 })
  const d = ds.describe()
  t.equal(d.kind, 'glyphs')
  t.same(
    [d.splits.train.classes, d.splits.val.classes, d.splits.test.classes, d.splits.train.images, d.splits.train.minPerClass],
    [1200, 300, 300, 24000, 20],
  )
  const big = createGlyphDataset({ size: 64, classes: { train: 3 } })
  t.equal(big.classes('train')[0].image(0).length, 64 * 64)
})

t.test('classes are separable: within-class distance below between-class distance', async (t) => {
  const ds = createGlyphDataset({ seed: 5 })
  const classes = ds.classes('val').slice(0, 40)
  let within = 0, nWithin = 0, between = 0, nBetween = 0
  for (let c = 0; c < classes.length; c++) {
    const imgs = Array.from({ length: 6 }, (_, i) => classes[c].image(i))
    for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) { within += dist2(imgs[i], imgs[j]); nWithin++ }
    const other = classes[(c + 1) % classes.length]
    for (let i = 0; i < 6; i++) { between += dist2(imgs[i], other.image(i)); nBetween++ }
  }
  within /= nWithin
  between /= nBetween
  t.ok(within < 0.75 * between, `mean within ${within.toFixed(1)} < 0.75 x between ${between.toFixed(1)}`)

  // A 1-nearest-neighbour on raw pixels must beat chance (20%) clearly on 5-way 1-shot tasks.
  const sampler = createTaskSampler(ds, { way: 5, shot: 1, query: 5, split: 'test' })
  const rng = createRng(1)
  let correct = 0, total = 0
  for (let n = 0; n < 60; n++) {
    const task = sampler.sample(rng)
    const L = 28 * 28
    for (let q = 0; q < task.queryset.y.length; q++) {
      const qx = task.queryset.x.subarray(q * L, (q + 1) * L)
      let best = -1, bestD = Infinity
      for (let s = 0; s < 5; s++) {
        const d = dist2(qx, task.support.x.subarray(s * L, (s + 1) * L))
        if (d < bestD) { bestD = d; best = task.support.y[s] }
      }
      correct += best === task.queryset.y[q] ? 1 : 0
      total++
    }
  }
  t.ok(correct / total > 0.5, `pixel 1-NN accuracy ${(100 * correct / total).toFixed(1)}% > 50%`)
  t.ok(correct / total < 0.995, 'but the task is not trivial')
})

t.test('renders thousands of images per second', async (t) => {
  const ds = createGlyphDataset({ seed: 77, cacheBytes: 0 })
  const start = performance.now()
  let n = 0
  for (const c of ds.classes('train').slice(0, 200)) for (let i = 0; i < 20; i++, n++) c.image(i)
  const perSecond = n / ((performance.now() - start) / 1000)
  t.comment(`glyphs: ${Math.round(perSecond)} images/s (28x28, uncached)`)
  t.ok(perSecond > 2000, `${Math.round(perSecond)} images/s`)
})

t.test('bad options are reported together', async (t) => {
  t.throws(() => resolveGlyphOptions({ size: 2, classes: { train: -1 }, samplesPerClass: 0 }), {
    code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID',
    message: /size.*classes\.train.*samplesPerClass/,
  })
})
