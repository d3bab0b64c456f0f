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
import type { Test } from 'tap'
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
  /** More `controller start` flags (e.g. --ingest-group), and node flags before the script (e.g. --cpu-prof). */
  extraArgs?: string[]
  nodeArgs?: string[]
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
  args.push(...(opts.extraArgs ?? []))
  args.unshift(...(opts.nodeArgs ?? []))

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

// ---- what a controller stored, read straight from its SQLite file ----

export interface StoredExecution {
  executionId: string
  deviceId: string
  runtime: string
  threads: number
  /** Measurement rows of kind 'block'. */
  blockRows: number
  distinctBlocks: number
  /** (key, rows) for every block key stored more than once for this execution. */
  duplicates: { key: string; rows: number }[]
  /** Block rows whose key is not one of the campaign's keys. */
  foreign: number
}

/** Opens `<dataDir>/fleetnas.db` read-only (the controller may still be writing: WAL allows it). */
export async function readStoredCampaign(dataDir: string, campaignId: string): Promise<{ keys: number; executions: StoredExecution[] }> {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(path.join(dataDir, 'fleetnas.db'), { readonly: true, fileMustExist: true })
  try {
    const keys = (db.prepare('SELECT count(*) AS n FROM campaign_keys WHERE campaign_id = ?').get(campaignId) as { n: number }).n
    const executions = db
      .prepare('SELECT id, device_id AS deviceId, runtime, threads FROM executions WHERE campaign_id = ? ORDER BY id')
      .all(campaignId) as { id: string; deviceId: string; runtime: string; threads: number }[]
    const rows = db.prepare(`SELECT count(*) AS n, count(DISTINCT key) AS d FROM measurements WHERE execution_id = ? AND kind = 'block'`)
    const dups = db.prepare(
      `SELECT key, count(*) AS rows FROM measurements WHERE execution_id = ? AND kind = 'block' GROUP BY key HAVING count(*) > 1 ORDER BY key`,
    )
    const foreign = db.prepare(
      `SELECT count(*) AS n FROM measurements m WHERE m.execution_id = ? AND m.kind = 'block'
       AND NOT EXISTS (SELECT 1 FROM campaign_keys k WHERE k.campaign_id = m.campaign_id AND k.key = m.key)`,
    )
    return {
      keys,
      executions: executions.map((e) => {
        const r = rows.get(e.id) as { n: number; d: number }
        return {
          executionId: e.id,
          deviceId: e.deviceId,
          runtime: e.runtime,
          threads: e.threads,
          blockRows: r.n,
          distinctBlocks: r.d,
          duplicates: dups.all(e.id) as { key: string; rows: number }[],
          foreign: (foreign.get(e.id) as { n: number }).n,
        }
      }),
    }
  } finally {
    db.close()
  }
}

/**
 * The campaign succeeded and every block is stored exactly once: progress succeeded == total, one
 * LUT row per block for each (profile, runtime, threads) it measured, and in SQLite one block
 * measurement per (execution, key), none of them foreign. Assumes the data dir holds only this
 * campaign's LUTs.
 */
export async function assertStoredOnce(
  t: Test,
  o: { api: ApiClient; dataDir: string; campaignId: string; blocks: number; hardwareProfile: string; context?: () => string },
): Promise<void> {
  const why = o.context ? `\n${o.context()}` : ''
  const c = await o.api.get<{ state: string; progress: { total: number; succeeded: number; failed: number }; executions: { runtime: string; threads: number }[] }>(
    `/v1/campaigns/${o.campaignId}`,
  )
  t.equal(c.state, 'SUCCEEDED', `campaign SUCCEEDED${c.state === 'SUCCEEDED' ? '' : why}`)
  t.same(c.progress, { total: o.blocks * c.executions.length, succeeded: o.blocks * c.executions.length, failed: 0 }, 'progress: every block succeeded')
  const scopes = new Set(c.executions.map((e) => `${e.runtime}/${e.threads}`))
  for (const scope of scopes) {
    const [runtime, threads] = scope.split('/')
    const lut = await o.api.get<{ entries: { key: string }[] }>(`/v1/luts/${o.hardwareProfile}?runtime=${runtime}&threads=${threads}`)
    t.equal(lut.entries.length, o.blocks, `LUT ${o.hardwareProfile} ${scope}: one entry per block`)
  }
  const stored = await readStoredCampaign(o.dataDir, o.campaignId)
  t.equal(stored.keys, o.blocks, 'campaign keys in SQLite')
  for (const e of stored.executions) {
    t.equal(e.blockRows, o.blocks, `${e.executionId} (${e.deviceId}): one measurement row per block`)
    t.equal(e.distinctBlocks, o.blocks, `${e.executionId}: every block key stored`)
    t.same(e.duplicates, [], `${e.executionId}: no block stored twice`)
    t.equal(e.foreign, 0, `${e.executionId}: no measurement outside the campaign's keys`)
  }
}
