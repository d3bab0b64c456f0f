import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import t from 'tap'
import { atomicWriteTempPath, isAtomicWriteTemp, writeFileAtomic } from './atomic-file.ts'

const tmp = async (t: { teardown(fn: () => unknown): void }) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-atomic-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('writes text and bytes, replaces the old file, creates the folder and leaves no temp file', async (t) => {
  const dir = await tmp(t)
  const file = join(dir, 'a', 'b', 'state.json')
  await writeFileAtomic(file, '{"v":1}')
  t.equal(await readFile(file, 'utf8'), '{"v":1}')
  await writeFileAtomic(file, new Uint8Array([1, 2, 3]))
  t.same([...(await readFile(file))], [1, 2, 3], 'the new content replaces the old')
  t.same(await readdir(join(dir, 'a', 'b')), ['state.json'], 'only the target is left')
})

t.test('concurrent writes to one file: each is whole, the last rename wins, no temp file is left', async (t) => {
  const dir = await tmp(t)
  const file = join(dir, 'x.bin')
  const payloads = Array.from({ length: 8 }, (_, i) => new Uint8Array(64 * 1024).fill(i + 1))
  await Promise.all(payloads.map((p) => writeFileAtomic(file, p)))
  const got = await readFile(file)
  t.equal(got.byteLength, 64 * 1024)
  t.ok(got.every((b) => b === got[0]), 'the file is one whole write, not a mix')
  t.same(await readdir(dir), ['x.bin'])
})

t.test('a failed write throws and removes its temp file; the old file stands', async (t) => {
  const dir = await tmp(t)
  const target = join(dir, 'is-a-folder')
  await mkdir(join(target, 'child'), { recursive: true })
  await t.rejects(writeFileAtomic(target, 'x'), 'renaming a file over a non-empty folder fails')
  t.same((await readdir(dir)).sort(), ['is-a-folder'], 'the temp file is gone')
  t.same(await readdir(target), ['child'])
  const file = join(dir, 'keep.txt')
  await writeFile(file, 'old')
  await t.rejects(writeFileAtomic(file, 42 as unknown as string), 'bad data is refused')
  t.equal(await readFile(file, 'utf8'), 'old')
  t.same((await readdir(dir)).sort(), ['is-a-folder', 'keep.txt'])
})

t.test('temp names are recognised, including the agent\'s older form, and targets are not', async (t) => {
  const a = atomicWriteTempPath('/state/jobs/7.json')
  t.equal(dirname(a), '/state/jobs', 'the temp file sits beside the target')
  t.ok(isAtomicWriteTemp(basename(a)), basename(a))
  t.not(atomicWriteTempPath('/state/jobs/7.json'), a, 'each write gets its own name')
  t.ok(isAtomicWriteTemp('6.json.4242.tmp'), 'the agent\'s older temp form')
  for (const name of ['6.json', 'device-id', 'job-a.journal', 'abc.u8', '.hidden', 'x.tmp']) t.notOk(isAtomicWriteTemp(name), name)
})
