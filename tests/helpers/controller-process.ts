/**
 * The controller as a separate process, started through the real CLI
 * (`fleetnas controller start ...`), so a test can SIGKILL it mid-campaign and start it again on the
 * same ports and data directory.
 *
 *   const ctl = await startControllerProcess({ dataDir, insecure: true })
 *   t.teardown(ctl.stop)
 *   await ctl.kill()      // SIGKILL: no clean shutdown, no offline status, no final save
 *   await ctl.restart()   // same ports, same data dir; resolves once /healthz answers
 *
 * Ports are fixed at the first start (free ones unless given) so agents pointed at the embedded
 * broker find the restarted controller at the same address.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ApiClient } from '../../controller/src/cli/api-client.ts'
import { CLI_BIN } from './fleet.ts'
import { freePort } from './mosquitto.ts'

const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
const LOG_LIMIT = 256 * 1024

export interface ControllerProcessOptions {
  dataDir: string
  /** HTTP port; default a free one, kept across restarts. */
  httpPort?: number
  /** Embedded broker port; default a free one, kept across restarts. Unused with `broker`. */
  mqttPort?: number
  /** External broker URL; when set no broker is embedded. */
  broker?: string
  brokerUsername?: string
  brokerPassword?: string
  insecure?: boolean
  /** Bearer token; in secure mode without one the controller's generated `<dataDir>/api-token` is used. */
  apiToken?: string
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error'
  /** Wait until /healthz says the MQTT session is up (200), not only that HTTP answers. Default true. */
  waitMqtt?: boolean
}

export interface ControllerProcess {
  httpUrl: string
  httpPort: number
  /** Where agents connect: the embedded broker, or the external one given. */
  mqttUrl: string
  mqttPort: number
  /** Client for the API (with the token in secure mode); renewed by restart(). */
  readonly api: ApiClient
  readonly token: string | undefined
  /** The current process (undefined once stopped). */
  readonly child: ChildProcess | undefined
  /** What every run of the process printed (last 256 kB), for assertion messages. */
  output(): string
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>
  /** Starts again (after kill() or stop()) on the same ports and data dir. */
  restart(): Promise<void>
  /** SIGTERM (clean shutdown), SIGKILL after a grace period. */
  stop(): Promise<void>
}

// Controllers still running when the test process exits (a failed assertion) are killed.
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

async function waitHttp(api: ApiClient, child: ChildProcess, waitMqtt: boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (let delay = 50; ; delay = Math.min(delay * 2, 250)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`controller exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${log()}`)
    try {
      const res = await fetch(`${api.base}/healthz`)
      await res.text()
      if (res.status === 200 || (!waitMqtt && res.status === 503)) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`controller HTTP did not answer within ${START_TIMEOUT_MS} ms:\n${log()}`)
    await new Promise((r) => setTimeout(r, delay))
  }
}

async function endProcess(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    if (child) live.delete(child)
    return
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(force)
  live.delete(child)
}

export async function startControllerProcess(opts: ControllerProcessOptions): Promise<ControllerProcess> {
  const httpPort = opts.httpPort ?? (await freePort())
  const mqttPort = opts.broker ? 0 : (opts.mqttPort ?? (await freePort()))
  const args = [CLI_BIN, 'controller', 'start', '--data-dir', opts.dataDir, '--port', String(httpPort), '--log-level', opts.logLevel ?? 'warn']
  if (opts.broker) {
    args.push('--broker', opts.broker)
    if (opts.brokerUsername !== undefined) args.push('--broker-username', opts.brokerUsername)
    if (opts.brokerPassword !== undefined) args.push('--broker-password', opts.brokerPassword)
  } else args.push('--mqtt-port', String(mqttPort))
  if (opts.insecure) args.push('--insecure')
  if (opts.apiToken) args.push('--api-token', opts.apiToken)

  // The environment must not smuggle in a token or broker the test did not ask for.
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('FLEETNAS_')) delete env[k]

  const httpUrl = `http://127.0.0.1:${httpPort}`
  let output = ''
  let child: ChildProcess | undefined
  let token = opts.apiToken
  let api = new ApiClient({ api: httpUrl, token })
  const log = () => output

  const launch = async () => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    live.add(proc)
    child = proc
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-LOG_LIMIT)
    }
    proc.stdout!.on('data', append)
    proc.stderr!.on('data', append)
    proc.once('exit', () => live.delete(proc))
    await waitHttp(new ApiClient({ api: httpUrl }), proc, opts.waitMqtt ?? true, log)
    if (!opts.insecure && token === undefined) token = readFileSync(path.join(opts.dataDir, 'api-token'), 'utf8').trim()
    api = new ApiClient({ api: httpUrl, token })
  }

  try {
    await launch()
  } catch (e) {
    await endProcess(child, 'SIGKILL')
    throw e
  }

  return {
    httpUrl,
    httpPort,
    mqttUrl: opts.broker ?? `mqtt://127.0.0.1:${mqttPort}`,
    mqttPort,
    get api() {
      return api
    },
    get token() {
      return token
    },
    get child() {
      return child
    },
    output: log,
    kill: () => endProcess(child, 'SIGKILL'),
    async restart() {
      await endProcess(child, 'SIGTERM')
      await launch()
    },
    stop: () => endProcess(child, 'SIGTERM'),
  }
}
