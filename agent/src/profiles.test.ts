import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DEFAULT_PROFILES_DIR } from './config.ts'
import { ProfileInvalid, ProfileNotFound } from './errors.ts'
import { loadProfiles, matchProfile, parseProfile, profileJsonSchema } from './profiles.ts'

const profiles = await loadProfiles(DEFAULT_PROFILES_DIR)
const inv = (arch: string, model: string, cpuModel = 'unknown') => ({ arch, model, cpuModel })

t.test('the shipped profiles load and cover every class', async (t) => {
  t.same(profiles.map((p) => p.id).sort(), ['generic', 'jetson-nano', 'jetson-orin-nano', 'raspberry-pi-4b', 'raspberry-pi-5', 'x86-64'])
  t.equal(await readFile(join(DEFAULT_PROFILES_DIR, 'profile.schema.json'), 'utf8'), profileJsonSchema(), 'profile.schema.json is current (agent/scripts/write-profile-schema.ts)')
})

t.test('matching is by the most specific profile whose criteria all hold', async (t) => {
  const id = (i: ReturnType<typeof inv>) => matchProfile(i, profiles).id
  t.equal(id(inv('arm64', 'Raspberry Pi 4 Model B Rev 1.4')), 'raspberry-pi-4b')
  t.equal(id(inv('arm', 'Raspberry Pi 4 Model B Rev 1.2')), 'raspberry-pi-4b', '32-bit Raspberry Pi OS')
  t.equal(id(inv('arm64', 'Raspberry Pi 5 Model B Rev 1.0')), 'raspberry-pi-5')
  t.equal(id(inv('arm64', 'NVIDIA Jetson Nano Developer Kit')), 'jetson-nano')
  t.equal(id(inv('arm64', 'NVIDIA Jetson Orin Nano Developer Kit')), 'jetson-orin-nano')
  t.equal(id(inv('x64', 'Dell Inc. XPS 13', 'Intel Core i7-1165G7')), 'x86-64')
  t.equal(id(inv('arm64', 'Pine64 RockPro64')), 'generic', 'unknown arm board falls back')
  t.equal(id(inv('riscv64', 'unknown')), 'generic')
  t.equal(id(inv('x64', 'Raspberry Pi 4 Model B')), 'x86-64', 'arch must hold too')
})

t.test('override by id; unknown id is an error with the known ones', async (t) => {
  t.equal(matchProfile(inv('x64', 'x'), profiles, 'raspberry-pi-5').id, 'raspberry-pi-5')
  t.throws(() => matchProfile(inv('x64', 'x'), profiles, 'cray-1'), { code: ProfileNotFound.code, message: /generic/ })
})

t.test('invalid profile files are errors naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-profiles-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  t.throws(() => parseProfile('/x/broken.json', '{'), { code: ProfileInvalid.code, message: /broken\.json.*not JSON/ })
  t.throws(() => parseProfile('/x/p.json', JSON.stringify({ id: 'p', name: 'P', match: {}, measure: { threads: 0, warmupRuns: 1, warmupMs: 1 }, sensors: { temperature: [], frequency: [] } })), {
    code: ProfileInvalid.code,
    message: /p\.json.*\/measure\/threads/,
  })
  t.throws(() => parseProfile('/x/re.json', JSON.stringify({ id: 're', name: 'R', match: { cpuModel: ['('] }, measure: { threads: 1, warmupRuns: 1, warmupMs: 1 }, sensors: { temperature: [], frequency: [] } })), {
    code: ProfileInvalid.code,
    message: /re\.json.*regular expression/,
  })
  const good = await readFile(join(DEFAULT_PROFILES_DIR, 'generic.json'), 'utf8')
  await writeFile(join(dir, 'a.json'), good)
  await writeFile(join(dir, 'b.json'), good)
  await t.rejects(loadProfiles(dir), { code: ProfileInvalid.code, message: /b\.json.*already used by .*a\.json/ })
})
