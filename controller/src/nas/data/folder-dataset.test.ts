import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng } from '@fleetnas/shared'
import { loadFolderDataset, splitClasses } from './folder-dataset.ts'
import { createTaskSampler } from './tasks.ts'
import { writeClassFolders } from './test-fixtures.ts'

const tmp = mkdtempSync(join(tmpdir(), 'fleetnas-folder-test-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
const root = join(tmp, 'set')
const cacheDir = join(tmp, 'cache')

t.before(async () => {
  await writeClassFolders(root, 20, 6)
  writeFileSync(join(root, 'class-0', 'notes.txt'), 'not an image')
  writeFileSync(join(root, 'class-1', '.hidden.png'), 'hidden, ignored')
  writeFileSync(join(root, 'loose.png'), 'no class folder, skipped')
})

t.test('PNG/JPEG/WebP/GIF/TIFF of different sizes become one grey dataset', async (t) => {
  const ds = await loadFolderDataset({ path: root, size: 28, cacheDir })
  const d = ds.describe()
  t.same(d.shape, { channels: 1, height: 28, width: 28 })
  t.same([d.splits.train.classes, d.splits.val.classes, d.splits.test.classes], [14, 3, 3], '0.7/0.15/0.15 of 20')
  t.equal(d.splits.train.minPerClass, 6)
  t.equal(d.skippedFiles, 2, 'notes.txt and loose.png skipped, the hidden file ignored')
  const all = [...ds.classes('train'), ...ds.classes('val'), ...ds.classes('test')].map((c) => c.name).sort()
  t.equal(new Set(all).size, 20, 'each class in exactly one split')
  const img = ds.classes('train')[0].image(0)
  t.equal(img.length, 28 * 28)
  t.ok(img.every((v) => v >= 0 && v <= 1))
  t.ok(Math.max(...img) > 0.85 && Math.min(...img) < 0.8, 'light background, darker block (no inversion)')

  const sampler = createTaskSampler(ds, { way: 5, shot: 2, query: 3, split: 'train' })
  t.equal(sampler.sample(createRng(1)).queryset.x.length, 15 * 28 * 28)
  t.throws(() => createTaskSampler(ds, { way: 4, shot: 1, query: 1, split: 'val' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_CLASSES' })
  t.throws(() => createTaskSampler(ds, { way: 2, shot: 5, query: 2, split: 'val' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_SAMPLES' })
})

t.test('RGB at another size, inverted, split seed and ratios; cache reused', async (t) => {
  const before = readdirSync(cacheDir).length
  const ds = await loadFolderDataset({ path: root, size: 32, channels: 3, invert: true, ratios: { train: 1, val: 1, test: 0 }, seed: 3, cacheDir })
  t.ok(readdirSync(cacheDir).length > before, 'another size and mode, other cache entries')
  const d = ds.describe()
  t.same([d.splits.train.classes, d.splits.val.classes, d.splits.test.classes], [10, 10, 0])
  const img = ds.classes('train')[0].image(0)
  t.equal(img.length, 3 * 32 * 32)
  t.ok(Math.min(...img) < 0.15, 'inverted: background near 0')
  const again = await loadFolderDataset({ path: root, size: 32, channels: 3, invert: true, ratios: { train: 1, val: 1, test: 0 }, seed: 3, cacheDir })
  t.same(again.classes('val')[4].image(2), ds.classes('val')[4].image(2), 'cached decode is identical')
  const otherSeed = await loadFolderDataset({ path: root, size: 32, channels: 3, invert: true, ratios: { train: 1, val: 1, test: 0 }, seed: 4, cacheDir })
  t.notSame(otherSeed.classes('val').map((c) => c.name), ds.classes('val').map((c) => c.name), 'seed changes the split')
})

t.test('splitClasses is a seeded partition', async (t) => {
  const items = Array.from({ length: 100 }, (_, i) => i)
  const a = splitClasses(items, { train: 0.6, val: 0.2, test: 0.2 }, 9)
  t.same(a, splitClasses(items, { train: 0.6, val: 0.2, test: 0.2 }, 9))
  t.same([...a.train, ...a.val, ...a.test].sort((x, y) => x - y), items)
  t.same([a.train.length, a.val.length, a.test.length], [60, 20, 20])
})

t.test('errors: corrupt image named, empty folder, missing path, bad options', async (t) => {
  const broken = join(tmp, 'broken')
  await writeClassFolders(broken, 3, 2)
  const bad = join(broken, 'class-2', 'img1.jpg')
  writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))
  const error = (await loadFolderDataset({ path: broken, cacheDir: false }).catch((e) => e)) as Error & { code: string }
  t.equal(error.code, 'FLEETNAS_ERR_DATA_IMAGE_UNREADABLE')
  t.ok(error.message.includes(bad), error.message)

  const empty = join(tmp, 'empty')
  mkdirSync(join(empty, 'a'), { recursive: true })
  writeFileSync(join(empty, 'a', 'x.txt'), 'text')
  await t.rejects(loadFolderDataset({ path: empty }), { code: 'FLEETNAS_ERR_DATA_EMPTY' })
  await t.rejects(loadFolderDataset({ path: join(tmp, 'absent') }), { code: 'FLEETNAS_ERR_DATA_PATH_MISSING' })
  await t.rejects(loadFolderDataset({ path: root, size: 1, channels: 2 as 3, ratios: { train: 0, val: 0, test: 0 } }), {
    code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID',
    message: /size.*channels.*ratios/,
  })
})
