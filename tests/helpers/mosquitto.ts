/**
 * A real mosquitto broker for tests, configured from the shipped deploy/mosquitto files so the
 * tests exercise the deployment config itself (ACL, auth, persistence, limits, TLS listener).
 *
 *   if (!mosquittoAvailable()) t.skip(MOSQUITTO_MISSING)
 *   const broker = await startMosquitto({ users: { 'fleetnas-controller': 'pw', dev1: 'pw1' } })
 *   t.teardown(broker.stop)
 *   mqtt.connect(broker.url, { username: 'dev1', password: 'pw1' })
 *
 * The config is deploy/mosquitto/mosquitto.conf with the listener moved to a free localhost port,
 * the password/ACL/persistence paths pointed into a temp dir, include_dir dropped and `user` set
 * to the current user (mosquitto started as root would otherwise switch to the `mosquitto` user,
 * which cannot read the temp files). Every other setting is used as shipped.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { mkdtemp, mkdir, rm, writeFile, chmod } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

export const DEPLOY_MOSQUITTO_DIR = fileURLToPath(new URL('../../deploy/mosquitto/', import.meta.url))
export const DEFAULT_ACL_FILE = path.join(DEPLOY_MOSQUITTO_DIR, 'acl')
export const MOSQUITTO_MISSING =
  'mosquitto (and mosquitto_passwd) not found on PATH or in /usr/sbin, /usr/bin: ' +
  'apt-get install -y mosquitto mosquitto-clients'

const START_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000
const LOG_LIMIT = 64 * 1024

export interface MosquittoTlsOptions {
  /** PEM file paths for the TLS listener (deploy/mosquitto/tls.conf with these paths). */
  ca: string
  cert: string
  key: string
  requireCertificate?: boolean
}

export interface StartMosquittoOptions {
  /** MQTT username -> password; hashed into a password file with `mosquitto_passwd -b`. */
  users: Record<string, string>
  /** Keep the broker's database here (so a test can restart onto it); default a temp dir. */
  persistenceDir?: string
  /** ACL file to enforce; default the shipped deploy/mosquitto/acl. */
  aclFile?: string
  /** Also open the TLS listener from deploy/mosquitto/tls.conf on another free port. */
  tls?: MosquittoTlsOptions
}

export interface RunningMosquitto {
  /** mqtt://127.0.0.1:PORT */
  url: string
  port: number
  /** mqtts://localhost:PORT when `tls` was given. */
  tlsUrl?: string
  tlsPort?: number
  /** The generated mosquitto config file. */
  configFile: string
  /** What the broker printed (stderr, last 64 kB), for assertion messages. */
  log(): string
  /** Graceful stop (SIGTERM: the broker saves its database), then removes the temp dir. */
  stop(): Promise<void>
  /** Graceful stop and start again on the same port with the same files. */
  restart(): Promise<void>
  /** SIGKILL, nothing saved; files stay so restart() can follow. */
  kill(): Promise<void>
}

function findExecutable(name: string, extraDirs: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...extraDirs]
  for (const dir of dirs) {
    const file = path.join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // not in this directory
    }
  }
  return undefined
}

const mosquittoBin = () => findExecutable('mosquitto', ['/usr/sbin', '/usr/local/sbin'])
const mosquittoPasswdBin = () => findExecutable('mosquitto_passwd', ['/usr/bin', '/usr/local/bin'])

/** True when both the broker and mosquitto_passwd can be run. */
export function mosquittoAvailable(): boolean {
  return mosquittoBin() !== undefined && mosquittoPasswdBin() !== undefined
}

/** For tap's `{ skip }` option: false when available, else the reason. */
export function mosquittoSkipReason(): string | false {
  return mosquittoAvailable() ? false : MOSQUITTO_MISSING
}

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

interface ConfigPaths {
  port: number
  passwordFile: string
  aclFile: string
  persistenceDir: string
  tls?: MosquittoTlsOptions & { port: number }
}

/** The shipped config with paths and ports replaced; exported so a test can inspect it. */
export function deriveMosquittoConfig(paths: ConfigPaths): string {
  const shipped = readFileSync(path.join(DEPLOY_MOSQUITTO_DIR, 'mosquitto.conf'), 'utf8')
  const out = [`user ${userInfo().username}`]
  for (const line of shipped.split('\n')) {
    const [key] = line.trim().split(/\s+/)
    if (key === 'password_file') out.push(`password_file ${paths.passwordFile}`)
    else if (key === 'acl_file') out.push(`acl_file ${paths.aclFile}`)
    else if (key === 'persistence_location') out.push(`persistence_location ${paths.persistenceDir.replace(/\/?$/, '/')}`)
    else if (key === 'listener') out.push(`listener ${paths.port} 127.0.0.1`)
    else if (key === 'include_dir' || key === 'pid_file') continue
    else out.push(line)
  }
  if (paths.tls) out.push(deriveTlsConfig(paths.tls))
  return `${out.join('\n')}\n`
}

function deriveTlsConfig(tls: MosquittoTlsOptions & { port: number }): string {
  const shipped = readFileSync(path.join(DEPLOY_MOSQUITTO_DIR, 'tls.conf'), 'utf8')
  const out: string[] = []
  for (const line of shipped.split('\n')) {
    const [key] = line.trim().split(/\s+/)
    if (key === 'listener') out.push(`listener ${tls.port} 127.0.0.1`)
    else if (key === 'cafile') out.push(`cafile ${tls.ca}`)
    else if (key === 'certfile') out.push(`certfile ${tls.cert}`)
    else if (key === 'keyfile') out.push(`keyfile ${tls.key}`)
    else out.push(line)
  }
  if (tls.requireCertificate) out.push('require_certificate true')
  return out.join('\n')
}

async function writePasswordFile(file: string, users: Record<string, string>): Promise<void> {
  const bin = mosquittoPasswdBin()
  if (!bin) throw new Error(MOSQUITTO_MISSING)
  // Plain `user:password` lines hashed in place by one `mosquitto_passwd -U` (a fleet benchmark has
  // thousands of users; one call per user took seconds). Test secrets never contain ':' or newlines.
  await writeFile(file, Object.entries(users).map(([u, p]) => `${u}:${p}\n`).join(''), { mode: 0o600 })
  await execFileP(bin, ['-U', file])
  await chmod(file, 0o600)
}

/** Resolves once a TCP connection to the port succeeds; rejects if the process exits first. */
async function waitListening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let exited = false
  const onExit = () => (exited = true)
  child.once('exit', onExit)
  try {
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      if (exited) throw new Error(`mosquitto exited during start-up:\n${log()}`)
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      })
      if (ok) return
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within ${START_TIMEOUT_MS} ms:\n${log()}`)
      await new Promise((r) => setTimeout(r, delay))
    }
  } finally {
    child.off('exit', onExit)
  }
}

// Brokers still running when the test process exits (a failed assertion, a crash) are killed.
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

async function endProcess(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
  live.delete(child)
}

export async function startMosquitto(opts: StartMosquittoOptions): Promise<RunningMosquitto> {
  const bin = mosquittoBin()
  if (!bin || !mosquittoPasswdBin()) throw new Error(MOSQUITTO_MISSING)
  const dir = await mkdtemp(path.join(tmpdir(), 'fleetnas-mosquitto-'))
  const persistenceDir = opts.persistenceDir ?? path.join(dir, 'data')
  await mkdir(persistenceDir, { recursive: true })
  const passwordFile = path.join(dir, 'passwd')
  await writePasswordFile(passwordFile, opts.users)
  const port = await freePort()
  const tlsPort = opts.tls ? await freePort() : undefined
  const configFile = path.join(dir, 'mosquitto.conf')
  await writeFile(
    configFile,
    deriveMosquittoConfig({
      port,
      passwordFile,
      aclFile: opts.aclFile ?? DEFAULT_ACL_FILE,
      persistenceDir,
      tls: opts.tls && tlsPort !== undefined ? { ...opts.tls, port: tlsPort } : undefined,
    }),
  )

  let output = ''
  const log = () => output
  let child: ChildProcess | undefined

  const launch = async () => {
    const proc = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(proc)
    child = proc
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-LOG_LIMIT)
    }
    proc.stdout?.on('data', append)
    proc.stderr?.on('data', append)
    proc.once('exit', () => live.delete(proc))
    await waitListening(port, proc, log)
    if (tlsPort !== undefined) await waitListening(tlsPort, proc, log)
  }

  try {
    await launch()
  } catch (err) {
    await endProcess(child, 'SIGKILL')
    await rm(dir, { recursive: true, force: true })
    throw err
  }

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://localhost:${tlsPort}`,
    tlsPort,
    configFile,
    log,
    async stop() {
      await endProcess(child, 'SIGTERM')
      await rm(dir, { recursive: true, force: true })
    },
    async restart() {
      await endProcess(child, 'SIGTERM')
      await launch()
    },
    async kill() {
      await endProcess(child, 'SIGKILL')
    },
  }
}
