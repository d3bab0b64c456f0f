import t from 'tap'
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng } from '@fleetnas/shared'
import { openDataset, createTaskSampler, type DatasetKind } from './index.ts'
import { OMNIGLOT_ZIP, omniglotAbsent } from './omniglot-location.ts'
import { writeClassFolders } from './test-fixtures.ts'

const tmp = mkdtempSync(join(tmpdir(), 'fleetnas-open-test-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

t.test('glyphs by default options; folder by path', async (t) => {
  const glyphs = await openDataset('glyphs', { seed: 2, classes: { train: 30, val: 10, test: 10 } })
  t.equal(glyphs.describe().splits.val.classes, 10)
  const task = createTaskSampler(glyphs, { way: 5, shot: 1, query: 2, split: 'val' }).sample(createRng(1))
  t.equal(task.support.x.length, 5 * 28 * 28)

  const dir = join(tmp, 'set')
  await writeClassFolders(dir, 6, 3)
  const folder = await openDataset('folder', { path: dir, size: 20, ratios: { train: 1, val: 0, test: 0 }, cacheDir: false })
  t.same(folder.shape, { channels: 1, height: 20, width: 20 })
  t.equal(folder.describe().splits.train.classes, 6)
})

t.test('omniglot through the factory', { skip: omniglotAbsent() }, async (t) => {
  const ds = await openDataset('omniglot', { path: OMNIGLOT_ZIP, alphabets: ['Tagalog'], cacheDir: join(tmp, 'cache') })
  t.equal(ds.describe().splits.val.classes, 17, 'Tagalog: 17 characters, validation by default')
  t.throws(() => createTaskSampler(ds, { way: 20, shot: 1, query: 1, split: 'val' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_CLASSES' })
  t.throws(() => createTaskSampler(ds, { way: 5, shot: 15, query: 10, split: 'val' }), { code: 'FLEETNAS_ERR_DATA_NOT_ENOUGH_SAMPLES' })
})

t.test('clear errors', async (t) => {
  await t.rejects(openDataset('mnist' as DatasetKind), { code: 'FLEETNAS_ERR_DATA_KIND_UNKNOWN' })
  await t.rejects(openDataset('omniglot', {}), { code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID', message: /needs a path/ })
  await t.rejects(openDataset('folder', { path: join(tmp, 'missing') }), { code: 'FLEETNAS_ERR_DATA_PATH_MISSING', message: /missing/ })
  await t.rejects(openDataset('glyphs', { path: '/somewhere' }), { code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID', message: /'path' does not apply/ })
  await t.rejects(openDataset('glyphs', { classes: { train: 0, val: 0, test: 0 } }), { code: 'FLEETNAS_ERR_DATA_EMPTY' })
  mkdirSync(join(tmp, 'void'))
  await t.rejects(openDataset('folder', { path: join(tmp, 'void') }), { code: 'FLEETNAS_ERR_DATA_EMPTY' })
  await t.rejects(openDataset('omniglot', { path: join(tmp, 'void') }), { code: 'FLEETNAS_ERR_DATA_EMPTY' })
})
