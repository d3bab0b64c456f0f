import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { EXIT, isFleetnasError } from '@fleetnas/shared'
import { AgentNotInstalled, locateAgent } from './agent-package.ts'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const FLEETNAS = join(REPO, 'controller/bin/fleetnas.js')
const FLEETNAS_AGENT = join(REPO, 'agent/bin/fleetnas-agent.js')

const run = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stderr }))
  })

t.test('in a clone the agent package is found through the workspace link', async (t) => {
  const agent = locateAgent('`fleetnas agent start`')
  t.equal(agent.bin, FLEETNAS_AGENT, 'its fleetnas-agent executable')
  t.ok(existsSync(agent.entry), 'its entry module exists')
})

t.test('where the agent is not installed, the error says how to install it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-no-agent-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'main.js'), '')
  const e = (() => {
    try {
      locateAgent('`fleetnas agent start`', pathToFileURL(join(dir, 'main.js')))
    } catch (e) {
      return e
    }
  })()
  t.ok(isFleetnasError(e, AgentNotInstalled.code), 'AgentNotInstalled')
  t.match((e as Error).message, /`fleetnas agent start` runs the fleetnas agent.*npm ci/)
  t.equal((e as { statusCode: number }).statusCode, 404, 'exits 3 (not found) through the one map')
})

t.test('`fleetnas agent start` exits as `fleetnas-agent` does', async (t) => {
  const state = await mkdtemp(join(tmpdir(), 'fleetnas-agent-start-'))
  t.teardown(() => rm(state, { recursive: true, force: true }))
  const cases = [
    { what: 'an unknown hardware profile', args: ['--broker', 'mqtt://127.0.0.1:1', '--state-dir', state, '--hardware-profile', 'nope', '--log-level', 'warn'], exit: EXIT.notFound, code: 'FLEETNAS_ERR_AGENT_PROFILE_NOT_FOUND' },
    { what: 'an invalid configuration', args: ['--state-dir', state, '--threads', 'abc'], exit: EXIT.usage, code: 'FLEETNAS_ERR_AGENT_CONFIG_INVALID' },
  ]
  for (const c of cases) {
    const [mounted, own] = await Promise.all([run([FLEETNAS, 'agent', 'start', ...c.args]), run([FLEETNAS_AGENT, ...c.args])])
    t.equal(own.code, c.exit, `fleetnas-agent: ${c.what} exits ${c.exit}`)
    t.equal(mounted.code, own.code, `fleetnas agent start: ${c.what} exits the same`)
    t.match(mounted.stderr, c.code, 'and names the error code')
  }
})
