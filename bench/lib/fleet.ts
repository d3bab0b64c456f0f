/**
 * A one-machine fleet for benchmarks: a controller in this process (embedded broker, temp data
 * dir, insecure) and one real agent process (agent/bin/fleetnas-agent.js) connected to it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pollUntil } from '@fleetnas/shared'
import { startController, type RunningController } from '../../controller/src/index.ts'
import type { ControllerConfigInput } from '../../controller/src/config.ts'
import { ApiClient } from '../../controller/src/cli/api-client.ts'
import type { DeviceView } from '../../controller/src/cli/api-types.ts'

export const AGENT_BIN = fileURLToPath(new URL('../../agent/bin/fleetnas-agent.js', import.meta.url))
const LOG_TAIL = 64 * 1024
const STOP_GRACE_MS = 15_000

export interface AgentProcess {
  child: ChildProcess
  pid: number
  /** The last 64 KiB of its stdout and stderr, for failure messages. */
  output(): string
  exited(): boolean
  stop(): Promise<void>
}

export interface BenchFleet {
  controller: RunningController
  api: ApiClient
  agent: AgentProcess
  device: DeviceView
  dataDir: string
  /** Stops the agent, then the controller, then removes the temp dir. */
  stop(): Promise<void>
}

export interface FleetOptions {
  threads: number
  deviceId?: string
  onlineTimeoutMs?: number
  /** More controller configuration (e.g. a supernet for architecture requests). */
  controller?: Omit<ControllerConfigInput, 'dataDir' | 'httpPort' | 'mqttPort' | 'insecure'>
}

function spawnAgent(args: string[]): AgentProcess {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let tail = ''
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-LOG_TAIL)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = () => child.exitCode !== null || child.signalCode !== null
  return {
    child,
    pid: child.pid!,
    output: () => tail,
    exited,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited()) return resolve()
        const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
        child.once('exit', () => {
          clearTimeout(force)
          resolve()
        })
        child.kill('SIGTERM')
      }),
  }
}

export async function startBenchFleet(opts: FleetOptions): Promise<BenchFleet> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fleetnas-bench-'))
  const deviceId = opts.deviceId ?? 'bench-agent'
  const controller = await startController({ logLevel: 'error', ...opts.controller, dataDir, httpPort: 0, mqttPort: 0, insecure: true })
  const api = new ApiClient({ api: controller.httpUrl })
  let agent: AgentProcess | undefined
  const stop = async () => {
    await agent?.stop()
    await controller.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    agent = spawnAgent([
      '--broker', controller.mqttUrl,
      '--state-dir', join(dataDir, 'agent'),
      '--device-id', deviceId,
      '--threads', String(opts.threads),
      '--log-level', 'warn',
    ])
    const a = agent
    const device = await pollUntil(
      async () => {
        if (a.exited()) throw new Error(`the agent exited before coming online:\n${a.output()}`)
        const reply = await api.get<DeviceView[] | { items: DeviceView[] }>('/v1/devices')
        const list = Array.isArray(reply) ? reply : reply.items
        return list.find((d) => d.id === deviceId && d.status === 'online')
      },
      { what: `agent ${deviceId} to come online`, everyMs: 250, timeoutMs: opts.onlineTimeoutMs ?? 60_000 },
    )
    return { controller, api, agent, device, dataDir, stop }
  } catch (e) {
    await stop()
    throw e
  }
}
