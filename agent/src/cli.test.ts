/** The real executable: flags, exit codes, and a graceful stop on SIGTERM against a real broker. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import mqtt from 'mqtt'
import { decodeMessage, topics } from '@fleetnas/shared'
import { agentCommand, AGENT_OPTIONS, flagsToInput } from './cli.ts'

const BIN = fileURLToPath(new URL('../bin/fleetnas-agent.js', import.meta.url))

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (d) => (stderr += d))
  child.stdout.on('data', (d) => (stdout += d))
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number, stderr, stdout }))
  return { child, exited }
}

async function tmp(t: { teardown: (f: () => unknown) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('the command lists every flag, for mounting as `fleetnas agent start`', async (t) => {
  const names = agentCommand('start').options.map((o) => o.long)
  t.same(names, ['--broker', '--config', '--state-dir', '--device-id', '--username', '--password', '--threads', '--hardware-profile', '--log-level'])
  t.equal(AGENT_OPTIONS.length, names.length)
  t.ok(Number.isNaN(flagsToInput({ threads: 'x' }).threads))
  t.equal(flagsToInput({ threads: '4' }).threads, 4)
})

t.test('configuration errors exit 2 with the code and every problem', async (t) => {
  const dir = await tmp(t)
  const { code, stderr } = await run(['--config', join(dir, 'nope.json')]).exited
  t.equal(code, 2)
  t.match(stderr, /FLEETNAS_ERR_AGENT_CONFIG_FILE/)
  const bad = await run(['--state-dir', dir, '--threads', 'x', '--log-level', 'loud'], { FLEETNAS_BROKER: 'nonsense' }).exited
  t.equal(bad.code, 2)
  t.match(bad.stderr, /FLEETNAS_ERR_AGENT_CONFIG_INVALID/)
  t.match(bad.stderr, /threads/)
  t.match(bad.stderr, /logLevel/)
  t.match(bad.stderr, /broker/)
})

t.test('runs until SIGTERM, then publishes offline status and exits 0', async (t) => {
  const dir = await tmp(t)
  const { Aedes } = await import('aedes')
  const broker = await Aedes.createBroker()
  const server = createServer(broker.handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    await new Promise<void>((r) => broker.close(() => r()))
    await new Promise<void>((r) => server.close(() => r()))
  })
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  const ctl = await mqtt.connectAsync(url, { clientId: 'cli-test-ctl' })
  t.teardown(() => ctl.endAsync())
  const statuses: string[] = []
  const online = new Promise<void>((resolve) =>
    ctl.on('message', (_topic, payload) => {
      const d = decodeMessage('status', payload)
      if (d.ok) statuses.push(d.value.state)
      if (d.ok && d.value.state === 'online') resolve()
    }),
  )
  await ctl.subscribeAsync(topics.status('cli-dev'), { qos: 1 })
  const { child, exited } = run(['--broker', url, '--state-dir', dir, '--device-id', 'cli-dev', '--log-level', 'warn'], { FLEETNAS_THREADS: '1' })
  await online
  const offline = new Promise<void>((resolve) => ctl.on('message', () => statuses.at(-1) === 'offline' && resolve()))
  child.kill('SIGTERM')
  const { code, stderr } = await exited
  t.equal(code, 0, stderr)
  await offline
  t.equal(statuses.at(-1), 'offline')
})
