import t from 'tap'
import { createRng, isFleetnasError } from '@fleetnas/shared'
import { createDataset, type FewShotClass, type FewShotDataset } from './dataset.ts'
import { createTaskSampler } from './tasks.ts'
import { createGlyphDataset } from './glyphs.ts'

/** Class c, image i is a 2x3x3 image filled with c*100 + i (scaled), so tasks can be decoded back. */
function codedDataset(classesPerSplit: number, perClass: number | number[]): FewShotDataset {
  const make = (offset: number): FewShotClass[] =>
    Array.from({ length: classesPerSplit }, (_, c) => {
      const count = Array.isArray(perClass) ? perClass[c] : perClass
      return {
        name: `c${offset + c}`,
        count,
        image: (i: number) => {
          if (i < 0 || i >= count) throw new RangeError('out of range')
          return new Float32Array(18).fill(((offset + c) * 100 + i) / 1e6)
        },
      }
    })
  return createDataset({
    kind: 'folder',
    source: 'coded',
    shape: { channels: 2, height: 3, width: 3 },
    splits: { train: make(0), val: make(1000), test: [] },
  })
}

const codeOf = (x: Float32Array, row: number) => Math.round(x[row * 18] * 1e6)

t.test('shapes, class-major label layout, distinct classes and images', async (t) => {
  const sampler = createTaskSampler(codedDataset(10, 8), { way: 5, shot: 2, query: 3, split: 'train' })
  t.same(sampler.shape, { channels: 2, height: 3, width: 3 })
  const task = sampler.sample(createRng(7))
  t.equal(task.support.x.length, 5 * 2 * 18)
  t.equal(task.queryset.x.length, 5 * 3 * 18)
  t.same([...task.support.y], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
  t.same([...task.queryset.y], [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4])
  const classOfLabel: number[] = []
  const used = new Set<number>()
  for (let row = 0; row < 10; row++) {
    const code = codeOf(task.support.x, row)
    const cls = Math.floor(code / 100)
    classOfLabel[task.support.y[row]] ??= cls
    t.equal(cls, classOfLabel[task.support.y[row]], 'support row from its label class')
    used.add(code)
  }
  for (let row = 0; row < 15; row++) {
    const code = codeOf(task.queryset.x, row)
    t.equal(Math.floor(code / 100), classOfLabel[task.queryset.y[row]], 'query row from its label class')
    used.add(code)
  }
  t.equal(new Set(classOfLabel).size, 5, 'five different classes')
  t.equal(used.size, 25, 'no image appears twice in a task')
  t.same(task.classNames, classOfLabel.map((c) => `c${c}`))
})

t.test('same rng state gives the same task; class order is random', async (t) => {
  const sampler = createTaskSampler(codedDataset(20, 5), { way: 5, shot: 1, query: 1, split: 'val' })
  t.same(sampler.sample(createRng(3)), sampler.sample(createRng(3)))
  const rng = createRng(4)
  const firstLabelClasses = new Set<number>()
  for (let i = 0; i < 50; i++) firstLabelClasses.add(Math.floor(codeOf(sampler.sample(rng).support.x, 0) / 100))
  t.ok(firstLabelClasses.size > 8, `label 0 is many different classes (${firstLabelClasses.size})`)
  t.ok([...firstLabelClasses].every((c) => c >= 1000), 'val split only')
})

t.test('classes with too few images are never drawn', async (t) => {
  const sampler = createTaskSampler(codedDataset(6, [1, 9, 9, 2, 9, 9]), { way: 4, shot: 2, query: 1, split: 'train' })
  t.equal(sampler.eligibleClasses, 4)
  const rng = createRng(1)
  for (let i = 0; i < 20; i++) {
    const task = sampler.sample(rng)
    for (let row = 0; row < 8; row++) t.notOk([0, 3].includes(Math.floor(codeOf(task.support.x, row) / 100)))
  }
})

t.test('errors: not enough classes, not enough samples, bad options', async (t) => {
  const ds = codedDataset(6, [1, 9, 9, 2, 9, 9])
  t.throws(() => createTaskSampler(ds, { way: 7, shot: 1, query: 1, split: 'train' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_CLASSES' })
  t.throws(() => createTaskSampler(ds, { way: 5, shot: 2, query: 1, split: 'train' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_SAMPLES' })
  t.throws(() => createTaskSampler(ds, { way: 1, shot: 1, query: 1, split: 'test' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_CLASSES' })
  try {
    createTaskSampler(ds, { way: 0, shot: 1.5, query: -1, split: 'dev' as 'val' })
    t.fail('should throw')
  } catch (e) {
    t.ok(isFleetnasError(e, 'FLEETNAS_ERR_DATA_OPTIONS_INVALID'))
    for (const word of ['way', 'shot', 'query', 'split']) t.match((e as Error).message, word, `reports ${word}`)
  }
})

t.test('glyph tasks: 28x28x1 in [0,1], 20-way 5-shot 15-query', async (t) => {
  const sampler = createTaskSampler(createGlyphDataset({ classes: { train: 40, val: 0, test: 0 } }), {
    way: 20,
    shot: 5,
    query: 15,
    split: 'train',
  })
  const task = sampler.sample(createRng(11))
  t.equal(task.support.x.length, 20 * 5 * 28 * 28)
  t.equal(task.queryset.x.length, 20 * 15 * 28 * 28)
  let min = Infinity
  let max = -Infinity
  for (const v of task.support.x) {
    min = Math.min(min, v)
    max = Math.max(max, v)
  }
  t.equal(min, 0)
  t.ok(max <= 1 && max > 0.99, 'ink reaches 1')
})
