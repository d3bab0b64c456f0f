import t from 'tap'
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { zipSync } from 'fflate'
import { createRng } from '@fleetnas/shared'
import { loadOmniglot } from './omniglot.ts'
import { OMNIGLOT_ZIP as ZIP, omniglotAbsent } from './omniglot-location.ts'
import { createTaskSampler } from './tasks.ts'
import { rotateQuarterTurns } from './image-ops.ts'

const absent = omniglotAbsent()

const tmp = mkdtempSync(join(tmpdir(), 'fleetnas-omniglot-test-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
const cacheDir = join(tmp, 'cache')

t.test('real zip: split by alphabet, rotations as training classes, ink = 1', { skip: absent }, async (t) => {
  const ds = await loadOmniglot({ path: ZIP, alphabets: ['Latin', 'Korean'], cacheDir })
  const d = ds.describe()
  t.same(d.shape, { channels: 1, height: 28, width: 28 })
  t.equal(d.splits.val.classes, 40, 'Korean (40 characters) is a default validation alphabet')
  t.equal(d.splits.train.classes, 26 * 4, 'Latin (26 characters) x 4 rotations')
  t.equal(d.splits.test.classes, 0)
  t.equal(d.splits.train.minPerClass, 20)
  t.ok(ds.classes('val').every((c) => c.name.startsWith('Korean/')))
  t.notOk(ds.classes('val').some((c) => c.name.includes('@rot')), 'no rotations outside train')

  const train = ds.classes('train')
  const base = train.find((c) => c.name === 'Latin/character01')!
  const rot90 = train.find((c) => c.name === 'Latin/character01@rot90')!
  const rot270 = train.find((c) => c.name === 'Latin/character01@rot270')!
  t.ok(base && rot90 && rot270)
  t.same(rot90.image(3), rotateQuarterTurns(base.image(3), 1, 28, 1))
  t.same(rot270.image(3), rotateQuarterTurns(base.image(3), 1, 28, 3))
  t.notSame(rot90.image(3), base.image(3))

  const img = base.image(0)
  const mean = img.reduce((s, v) => s + v, 0) / img.length
  t.ok(mean > 0.02 && mean < 0.4, `sparse ink, mean ${mean.toFixed(3)}`)
  t.ok(img.every((v) => v >= 0 && v <= 1))
  t.equal(img[0] + img[27] + img[27 * 28] + img[28 * 28 - 1], 0, 'corners are background (0)')

  const sampler = createTaskSampler(ds, { way: 20, shot: 1, query: 5, split: 'val' })
  const task = sampler.sample(createRng(1))
  t.equal(task.support.x.length, 20 * 28 * 28)
  t.ok(task.classNames!.every((n) => n.startsWith('Korean/')))
})

t.test('real zip: folder inside the zip, cache reuse, configurable lists', { skip: absent }, async (t) => {
  const first = await loadOmniglot({ path: ZIP, alphabets: ['Latin', 'Korean'], cacheDir })
  t.ok(readdirSync(cacheDir).length >= 2, 'decoded alphabets cached (one file each)')
  const start = performance.now()
  const inner = await loadOmniglot({
    path: `${ZIP}/images_background`,
    alphabets: ['Latin', 'Korean'],
    valAlphabets: ['Latin'],
    testAlphabets: ['Korean'],
    rotations: false,
    cacheDir,
  })
  t.comment(`cached load of 2 alphabets: ${Math.round(performance.now() - start)} ms`)
  const d = inner.describe()
  t.same([d.splits.train.classes, d.splits.val.classes, d.splits.test.classes], [0, 26, 40])
  t.same(inner.classes('val')[5].image(7), first.classes('train').find((c) => c.name === inner.classes('val')[5].name)!.image(7))

  await t.rejects(loadOmniglot({ path: ZIP, alphabets: ['Latin', 'Klingon'], cacheDir: false }), {
    code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID',
    message: /'Klingon'.*available alphabets: .*Latin/,
  })
  await t.rejects(loadOmniglot({ path: ZIP, alphabets: ['latin'], cacheDir: false }), { message: /did you mean 'Latin'/ })
  await t.rejects(loadOmniglot({ path: ZIP, valAlphabets: ['Latin'], testAlphabets: ['Latin'], cacheDir: false }), {
    code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID',
  })
  await t.rejects(loadOmniglot({ path: `${ZIP}/images_evaluation` }), { code: 'FLEETNAS_ERR_DATA_PATH_MISSING' })
})

/** A tiny Omniglot-like PNG: white 105x105 with a black bar at a class-dependent place. */
async function scan(seed: number): Promise<Buffer> {
  const px = new Uint8Array(105 * 105).fill(255)
  const rng = createRng(seed)
  const y0 = 10 + rng.int(60)
  for (let y = y0; y < y0 + 20; y++) for (let x = 30; x < 40 + rng.int(40); x++) px[y * 105 + x] = 0
  return sharp(px, { raw: { width: 105, height: 105, channels: 1 } }).png({ palette: true, colours: 2 }).toBuffer()
}

t.test('folder layout; a corrupt image is an error naming the file (folder and zip)', async (t) => {
  const root = join(tmp, 'omni')
  for (const [a, c] of [['Alpha', 'character01'], ['Alpha', 'character02'], ['Beta', 'character01']]) {
    mkdirSync(join(root, a, c), { recursive: true })
    for (let i = 1; i <= 3; i++) writeFileSync(join(root, a, c, `${i}.png`), await scan(i * 7 + c.length + a.length))
  }
  writeFileSync(join(root, '.DS_Store'), 'junk')
  writeFileSync(join(root, 'Alpha', 'README.txt'), 'not an image')
  const ds = await loadOmniglot({ path: root, valAlphabets: ['Beta'], cacheDir: false })
  t.same([ds.describe().splits.train.classes, ds.describe().splits.val.classes], [8, 1])
  t.equal(ds.describe().skippedFiles, 1, 'README skipped, hidden file ignored')
  const ink = ds.classes('val')[0].image(0)
  t.ok(Math.max(...ink) === 1 && Math.min(...ink) === 0, 'bar is ink 1 on background 0')

  const bad = join(root, 'Beta', 'character01', '2.png')
  writeFileSync(bad, Buffer.from('this is not a png'))
  const error = await loadOmniglot({ path: root, cacheDir: false }).catch((e: Error & { code?: string }) => e)
  t.equal((error as { code?: string }).code, 'FLEETNAS_ERR_DATA_IMAGE_UNREADABLE')
  t.ok((error as Error).message.includes(bad), `message names the file: ${(error as Error).message}`)

  const zipPath = join(tmp, 'omni.zip')
  writeFileSync(
    zipPath,
    zipSync({
      'set/Alpha/character01/1.png': new Uint8Array(await scan(1)),
      'set/Alpha/character01/2.png': new TextEncoder().encode('truncated'),
    }),
  )
  await t.rejects(loadOmniglot({ path: zipPath, cacheDir: false }), {
    code: 'FLEETNAS_ERR_DATA_IMAGE_UNREADABLE',
    message: new RegExp(`${zipPath}/set/Alpha/character01/2\\.png`),
  })

  const twoRoots = join(tmp, 'two.zip')
  writeFileSync(twoRoots, zipSync({ 'a/X/c1/1.png': new Uint8Array(await scan(1)), 'b/Y/c1/1.png': new Uint8Array(await scan(2)) }))
  await t.rejects(loadOmniglot({ path: twoRoots, cacheDir: false }), { code: 'FLEETNAS_ERR_DATA_LAYOUT_INVALID', message: /'a', 'b'/ })
  t.ok(await loadOmniglot({ path: `${twoRoots}/b`, cacheDir: false }), 'a folder inside the zip picks one root')
  await t.rejects(loadOmniglot({ path: join(tmp, 'nowhere') }), { code: 'FLEETNAS_ERR_DATA_PATH_MISSING' })
})
