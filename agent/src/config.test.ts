import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { checkConfigInput, mergeConfigInputs, resolveAgentConfig } from './config.ts'
import { ConfigFileInvalid, ConfigInvalid } from './errors.ts'

const tmp = async (t: { teardown: (f: () => unknown) => void }) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('file < env < flags, tls merged field by field', async (t) => {
  const dir = await tmp(t)
  const file = join(dir, 'agent.json')
  await writeFile(file, JSON.stringify({ broker: 'mqtt://file:1883', threads: 2, username: 'u', password: 'p', tls: { rejectUnauthorized: false } }))
  const cfg = await resolveAgentConfig({
    configFile: file,
    env: { FLEETNAS_BROKER: 'mqtt://env:1883', FLEETNAS_THREADS: '3', FLEETNAS_STATE_DIR: join(dir, 'state'), FLEETNAS_DEVICE_ID: 'env-dev' },
    flags: { threads: 4, deviceId: undefined },
  })
  t.equal(cfg.broker, 'mqtt://env:1883')
  t.equal(cfg.threads, 4)
  t.equal(cfg.deviceId, 'env-dev')
  t.equal(cfg.username, 'u')
  t.equal(cfg.tls.rejectUnauthorized, false)
  t.equal(cfg.stateDir, join(dir, 'state'))
  t.equal(cfg.logLevel, 'info')
  t.same(mergeConfigInputs({ tls: { ca: 'a' } }, { tls: { rejectUnauthorized: false } }), { tls: { ca: 'a', rejectUnauthorized: false } })
})

t.test('defaults; the generated device id is kept in the state dir', async (t) => {
  const dir = await tmp(t)
  const a = await resolveAgentConfig({ configFile: false, flags: { stateDir: dir } })
  t.equal(a.broker, 'mqtt://localhost:1883')
  t.match(a.deviceId, /^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{6}$/)
  t.equal((await readFile(join(dir, 'device-id'), 'utf8')).trim(), a.deviceId)
  const b = await resolveAgentConfig({ configFile: false, flags: { stateDir: dir } })
  t.equal(b.deviceId, a.deviceId)
  t.equal(a.threads, undefined, 'threads come from the profile unless set')
})

t.test('a missing default file is fine; a missing named file or bad JSON names the file', async (t) => {
  const dir = await tmp(t)
  await t.resolves(resolveAgentConfig({ env: { FLEETNAS_STATE_DIR: dir } }))
  await t.rejects(resolveAgentConfig({ configFile: join(dir, 'nope.json') }), { code: ConfigFileInvalid.code, message: /nope\.json/ })
  const bad = join(dir, 'bad.json')
  await writeFile(bad, '{ "broker": ')
  await t.rejects(resolveAgentConfig({ configFile: bad }), { code: ConfigFileInvalid.code, message: /bad\.json.*not JSON/ })
  const unknown = join(dir, 'unknown.json')
  await writeFile(unknown, JSON.stringify({ brokr: 'x', threads: 'two' }))
  await t.rejects(resolveAgentConfig({ configFile: unknown }), { code: ConfigFileInvalid.code, message: /unknown\.json.*threads/ })
})

t.test('every problem is reported together', async (t) => {
  const dir = await tmp(t)
  const err = await resolveAgentConfig({
    configFile: false,
    env: { FLEETNAS_THREADS: 'many' },
    flags: { stateDir: dir, broker: 'not a url', deviceId: 'bad id!', logLevel: 'loud', hardwareProfile: '../x', tls: { cert: join(dir, 'missing.pem') } },
  }).catch((e) => e)
  t.equal(err.code, ConfigInvalid.code)
  for (const what of [/FLEETNAS_THREADS/, /broker/, /deviceId/, /logLevel/, /hardwareProfile/, /tls\.cert .* not readable/, /tls\.cert and tls\.key/])
    t.match(err.message, what)
  t.same(checkConfigInput({ threads: 0 }).length, 1)
  t.same(checkConfigInput({ broker: 'http://x' }).length, 1)
  t.same(checkConfigInput({ broker: 'mqtts://x:8883', threads: 8, logLevel: 'debug' }), [])
})
