/**
 * Test helpers for whole-fleet tests: a real controller (in this process), real agent processes
 * (agent/bin/fleetnas-agent.js), and waits on API state instead of fixed sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isFleetnasError, pollUntil, PollTimedOut } from '@fleetnas/shared'
import { ApiClient } from '../../controller/src/cli/api-client.ts'
import type { CampaignView, DeviceView } from '../../controller/src/cli/api-types.ts'

export const AGENT_BIN = fileURLToPath(new URL('../../agent/bin/fleetnas-agent.js', import.meta.url))
export const CLI_BIN = fileURLToPath(new URL('../../controller/bin/fleetnas.js', import.meta.url))

export interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs the `fleetnas` binary to its end; `env` is added to this process's environment; `onStderr`
 * sees stderr as it arrives and may act on the child (e.g. interrupt it).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, onStderr?: (text: string, child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => {
      stderr += d
      onStderr?.(stderr, child)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Asserts a CLI run exited 0; its stderr is the failure message otherwise. */
export function exits0(t: Test, run: CliRun, what: string): void {
  t.equal(run.code, 0, run.code === 0 ? `${what} exits 0` : `${what}: ${run.stderr}`)
}

export async function tempDir(prefix = 'fleetnas-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

export interface AgentProcess {
  child: ChildProcess
  output: () => string
  stop: (signal?: NodeJS.Signals) => Promise<void>
}

/** Starts an agent process; its stderr/stdout are kept for failure messages. */
export function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  return {
    child,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000)
        child.once('exit', () => {
          clearTimeout(force)
          resolve()
        })
        child.kill(signal)
      }),
  }
}

/**
 * pollUntil for tests: `false` also means not yet, and a probe that throws is tried again (a
 * service still starting), its last error named if the wait times out.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 150): Promise<T> {
  let last: unknown
  try {
    return await pollUntil(
      async () => {
        try {
          const v = await probe()
          return v === false ? undefined : v
        } catch (e) {
          last = e
          return undefined
        }
      },
      { what, everyMs, timeoutMs },
    )
  } catch (e) {
    if (isFleetnasError(e, PollTimedOut.code) && last) throw new Error(`${e.message} (last error: ${(last as Error).message})`)
    throw e
  }
}

export async function devices(api: ApiClient): Promise<DeviceView[]> {
  const r = await api.get<DeviceView[] | { items: DeviceView[] }>('/v1/devices')
  return Array.isArray(r) ? r : r.items
}

export function waitOnline(api: ApiClient, ids: string[], timeoutMs = 60_000): Promise<DeviceView[]> {
  return until(`devices ${ids.join(', ')} online`, async () => {
    const list = await devices(api)
    const found = ids.map((id) => list.find((d) => d.id === id && d.status === 'online'))
    return found.every(Boolean) ? (found as DeviceView[]) : undefined
  }, timeoutMs)
}

export function waitCampaign(api: ApiClient, id: string, done: (c: CampaignView) => boolean, what: string, timeoutMs = 300_000): Promise<CampaignView> {
  return until(what, async () => {
    const c = await api.get<CampaignView>(`/v1/campaigns/${id}`)
    return done(c) ? c : undefined
  }, timeoutMs, 250)
}
