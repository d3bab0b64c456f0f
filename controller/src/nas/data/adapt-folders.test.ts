import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadQueryFolder, loadSupportFolder } from './adapt-folders.ts'
import { classImage, writeClassFolders } from './test-fixtures.ts'

const tmp = mkdtempSync(join(tmpdir(), 'fleetnas-adapt-test-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

t.test('support folder: one subfolder per class, labels in natural order, class-major', async (t) => {
  const dir = join(tmp, 'support')
  await writeClassFolders(dir, 3, 2)
  mkdirSync(join(dir, 'class-10'))
  writeFileSync(join(dir, 'class-10', 'a.png'), await classImage(10, 50, 20, 'png'))
  writeFileSync(join(dir, 'class-10', 'readme.md'), 'skipped')
  writeFileSync(join(dir, '.DS_Store'), 'ignored')
  const s = await loadSupportFolder(dir, { size: 28, channels: 1 })
  t.same(s.labels, ['class-0', 'class-1', 'class-2', 'class-10'])
  t.same([...s.y], [0, 0, 1, 1, 2, 2, 3])
  t.equal(s.x.length, 7 * 28 * 28)
  t.equal(s.files.length, 7)
  t.ok(s.files[6].endsWith(join('class-10', 'a.png')))
  t.same(s.skipped, [join(dir, 'class-10', 'readme.md')])
  t.ok(s.x.every((v) => v >= 0 && v <= 1))
})

t.test('RGB planes are planar (NCHW) and in R, G, B order', async (t) => {
  const dir = join(tmp, 'rgb')
  mkdirSync(join(dir, 'only'), { recursive: true })
  // class 1 block colour is [70, 130, 40] on 235 grey.
  writeFileSync(join(dir, 'only', 'x.png'), await classImage(1, 60, 60, 'png'))
  const s = await loadSupportFolder(dir, { size: 30, channels: 3 })
  const plane = 30 * 30
  const minOf = (c: number) => Math.min(...s.x.subarray(c * plane, (c + 1) * plane))
  t.ok(Math.abs(minOf(0) - 70 / 255) < 0.03, `R ${minOf(0)}`)
  t.ok(Math.abs(minOf(1) - 130 / 255) < 0.03, `G ${minOf(1)}`)
  t.ok(Math.abs(minOf(2) - 40 / 255) < 0.03, `B ${minOf(2)}`)
  const inv = await loadSupportFolder(dir, { size: 30, channels: 3, invert: 'auto' })
  t.ok(Math.abs(inv.x[0] - (1 - 235 / 255)) < 0.02, 'auto inverts a light image')
})

t.test('query folder: images in natural order, any size and format', async (t) => {
  const dir = join(tmp, 'query')
  mkdirSync(dir)
  writeFileSync(join(dir, 'q10.jpg'), await classImage(0, 80, 60, 'jpeg'))
  writeFileSync(join(dir, 'q2.webp'), await classImage(1, 20, 20, 'webp'))
  writeFileSync(join(dir, 'q1.tif'), await classImage(2, 33, 77, 'tiff'))
  writeFileSync(join(dir, 'notes.txt'), 'skip')
  const q = await loadQueryFolder(dir, { size: 28, channels: 1 })
  t.same(q.files, ['q1.tif', 'q2.webp', 'q10.jpg'].map((f) => join(dir, f)))
  t.equal(q.x.length, 3 * 28 * 28)
  t.same(q.skipped, [join(dir, 'notes.txt')])
})

t.test('clear errors naming the folder or file', async (t) => {
  await t.rejects(loadQueryFolder(join(tmp, 'nope'), { size: 28, channels: 1 }), { code: 'FLEETNAS_ERR_DATA_PATH_MISSING' })

  const onlyText = join(tmp, 'only-text')
  mkdirSync(onlyText)
  writeFileSync(join(onlyText, 'a.bmp'), 'bmp is not read by sharp')
  await t.rejects(loadQueryFolder(onlyText, { size: 28, channels: 1 }), { code: 'FLEETNAS_ERR_DATA_EMPTY', message: /a\.bmp/ })

  const flat = join(tmp, 'flat-support')
  mkdirSync(flat)
  writeFileSync(join(flat, 'x.png'), await classImage(0, 28, 28, 'png'))
  await t.rejects(loadSupportFolder(flat, { size: 28, channels: 1 }), { code: 'FLEETNAS_ERR_DATA_EMPTY', message: /subfolder/ })

  const emptyClass = join(tmp, 'empty-class')
  await writeClassFolders(emptyClass, 2, 1)
  mkdirSync(join(emptyClass, 'ghost'))
  await t.rejects(loadSupportFolder(emptyClass, { size: 28, channels: 1 }), {
    code: 'FLEETNAS_ERR_DATA_EMPTY',
    message: /ghost.*empty/,
  })

  const corrupt = join(tmp, 'corrupt')
  await writeClassFolders(corrupt, 2, 2)
  const bad = join(corrupt, 'class-1', 'img0.gif')
  writeFileSync(bad, 'GIF89a broken')
  const error = (await loadSupportFolder(corrupt, { size: 28, channels: 1 }).catch((e) => e)) as Error & { code: string }
  t.equal(error.code, 'FLEETNAS_ERR_DATA_IMAGE_UNREADABLE')
  t.ok(error.message.includes(bad), error.message)

  const file = join(tmp, 'file.png')
  writeFileSync(file, 'x')
  await t.rejects(loadQueryFolder(file, { size: 28, channels: 1 }), { code: 'FLEETNAS_ERR_DATA_LAYOUT_INVALID' })
  await t.rejects(loadQueryFolder(tmp, { size: 0, channels: 2 as 1 }), { code: 'FLEETNAS_ERR_DATA_OPTIONS_INVALID' })
})
