/**
 * Agent configuration. The written form (`AgentConfigInput`, every field optional) comes from a JSON
 * file, the environment and command-line flags, merged in that order (later wins). The resolved
 * form (`AgentConfig`) has defaults applied and is validated once; every problem is reported
 * together in one FLEETNAS_ERR_AGENT_CONFIG_INVALID error.
 */
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { access, mkdir, readFile } from 'node:fs/promises'
import { homedir, hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { isValidId, writeFileAtomic } from '@fleetnas/shared'
import { ConfigFileInvalid, ConfigInvalid } from './errors.ts'
import { DEFAULT_PROFILES_DIR } from './paths.ts'

export const DEFAULT_CONFIG_FILE = '/etc/fleetnas/agent.json'
export const DEFAULT_BROKER = 'mqtt://localhost:1883'
export const SYSTEM_STATE_DIR = '/var/lib/fleetnas'
export { DEFAULT_PROFILES_DIR } from './paths.ts'
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']

export const TlsInputSchema = Type.Object(
  {
    /** Paths to PEM files. */
    ca: Type.Optional(Type.String()),
    cert: Type.Optional(Type.String()),
    key: Type.Optional(Type.String()),
    rejectUnauthorized: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

/** The written form: what a config file may contain (and what flags and env produce). */
export const AgentConfigInputSchema = Type.Object(
  {
    broker: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    deviceId: Type.Optional(Type.String()),
    stateDir: Type.Optional(Type.String()),
    hardwareProfile: Type.Optional(Type.String()),
    profilesDir: Type.Optional(Type.String()),
    threads: Type.Optional(Type.Integer()),
    tls: Type.Optional(TlsInputSchema),
    logLevel: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
export type AgentConfigInput = Static<typeof AgentConfigInputSchema>

export interface AgentConfig {
  broker: string
  username?: string
  password?: string
  deviceId: string
  stateDir: string
  /** Forces a profile instead of matching the inventory. */
  hardwareProfile?: string
  profilesDir: string
  /** Default thread count; undefined means "take the matched profile's". */
  threads?: number
  tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean }
  logLevel: LogLevel
}

export interface ConfigSources {
  /** JSON file path; undefined reads DEFAULT_CONFIG_FILE if present; false reads no file. */
  configFile?: string | false
  /** Environment (FLEETNAS_*); defaults to none, pass process.env explicitly. */
  env?: Record<string, string | undefined>
  flags?: AgentConfigInput
}

const ENV_FIELDS: Record<string, keyof AgentConfigInput> = {
  FLEETNAS_BROKER: 'broker',
  FLEETNAS_STATE_DIR: 'stateDir',
  FLEETNAS_DEVICE_ID: 'deviceId',
  FLEETNAS_USERNAME: 'username',
  FLEETNAS_PASSWORD: 'password',
  FLEETNAS_THREADS: 'threads',
  FLEETNAS_HARDWARE_PROFILE: 'hardwareProfile',
  FLEETNAS_LOG_LEVEL: 'logLevel',
}

/** Reads the JSON config file; a missing default file is fine, anything malformed names the file. */
export async function readConfigFile(file: string | false | undefined): Promise<AgentConfigInput> {
  if (file === false) return {}
  const path = file ?? DEFAULT_CONFIG_FILE
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (file === undefined && code === 'ENOENT') return {}
    throw ConfigFileInvalid(path, code === 'ENOENT' ? 'file not found' : (e as Error).message)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw ConfigFileInvalid(path, `not JSON: ${(e as Error).message}`)
  }
  const errors = [...Value.Errors(AgentConfigInputSchema, value)]
  if (errors.length > 0)
    throw ConfigFileInvalid(path, errors.map((err) => `${err.path || '(root)'}: ${err.message}`).join('; '))
  return value as AgentConfigInput
}

/** Environment to written form. Threads stay a string-derived number; problems are collected. */
export function configFromEnv(env: Record<string, string | undefined>, problems: string[] = []): AgentConfigInput {
  const out: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    if (field === 'threads') {
      const n = Number(raw)
      if (!Number.isInteger(n)) problems.push(`${name}=${JSON.stringify(raw)}: threads must be an integer`)
      else out.threads = n
    } else out[field] = raw
  }
  return out as AgentConfigInput
}

/** file < env < flags; `tls` merges field by field. Undefined values never override. */
export function mergeConfigInputs(...inputs: AgentConfigInput[]): AgentConfigInput {
  const out: AgentConfigInput = {}
  for (const input of inputs) {
    for (const [k, v] of Object.entries(input)) {
      if (v === undefined) continue
      if (k === 'tls') out.tls = { ...out.tls, ...dropUndefined(v as object) }
      else (out as Record<string, unknown>)[k] = v
    }
  }
  return out
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** Pure check of a merged written form; returns every problem found. */
export function checkConfigInput(input: AgentConfigInput): string[] {
  const problems: string[] = []
  if (input.broker !== undefined) {
    try {
      const u = new URL(input.broker)
      if (!BROKER_PROTOCOLS.includes(u.protocol))
        problems.push(`broker ${input.broker}: protocol must be one of ${BROKER_PROTOCOLS.join(' ')}`)
    } catch {
      problems.push(`broker ${JSON.stringify(input.broker)} is not a URL (e.g. mqtt://host:1883)`)
    }
  }
  if (input.deviceId !== undefined && !isValidId(input.deviceId))
    problems.push(`deviceId ${JSON.stringify(input.deviceId)}: use letters, digits, '.', '_' or '-' (max 128)`)
  if (input.hardwareProfile !== undefined && !isValidId(input.hardwareProfile))
    problems.push(`hardwareProfile ${JSON.stringify(input.hardwareProfile)} is not a profile id`)
  if (input.threads !== undefined && (!Number.isInteger(input.threads) || input.threads < 1 || input.threads > 256))
    problems.push(`threads ${input.threads}: must be an integer from 1 to 256`)
  if (input.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(input.logLevel))
    problems.push(`logLevel ${JSON.stringify(input.logLevel)}: one of ${LOG_LEVELS.join(', ')}`)
  if (input.password !== undefined && input.username === undefined) problems.push('password given without username')
  return problems
}

async function isWritableDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, fsConstants.W_OK)
    return true
  } catch {
    return false
  }
}

async function checkReadable(path: string, what: string, problems: string[]): Promise<void> {
  try {
    await access(path, fsConstants.R_OK)
  } catch {
    problems.push(`${what} ${path} is not readable`)
  }
}

/** Keeps one generated id per state directory so a device keeps its identity across restarts. */
export async function loadOrCreateDeviceId(stateDir: string): Promise<string> {
  const file = join(stateDir, 'device-id')
  try {
    const id = (await readFile(file, 'utf8')).trim()
    if (isValidId(id)) return id
  } catch {
    // none yet
  }
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'device'
  const id = `${host}-${randomBytes(3).toString('hex')}`
  await writeFileAtomic(file, `${id}\n`)
  return id
}

/** Applies defaults and validates a written form; creates the state directory and device id. */
export async function applyConfigDefaults(input: AgentConfigInput, extraProblems: string[] = []): Promise<AgentConfig> {
  const problems = [...extraProblems, ...checkConfigInput(input)]
  let stateDir: string | undefined
  if (input.stateDir !== undefined) {
    stateDir = resolve(input.stateDir)
    if (!(await isWritableDir(stateDir))) problems.push(`stateDir ${stateDir} cannot be created or written`)
  } else {
    stateDir = (await isWritableDir(SYSTEM_STATE_DIR)) ? SYSTEM_STATE_DIR : join(homedir(), '.fleetnas')
    if (stateDir !== SYSTEM_STATE_DIR && !(await isWritableDir(stateDir)))
      problems.push(`neither ${SYSTEM_STATE_DIR} nor ${stateDir} is writable; set stateDir`)
  }
  const tls = input.tls ?? {}
  for (const f of ['ca', 'cert', 'key'] as const) if (tls[f] !== undefined) await checkReadable(tls[f]!, `tls.${f}`, problems)
  if ((tls.cert === undefined) !== (tls.key === undefined)) problems.push('tls.cert and tls.key must be given together')
  const profilesDir = resolve(input.profilesDir ?? DEFAULT_PROFILES_DIR)
  await checkReadable(profilesDir, 'profilesDir', problems)
  if (problems.length > 0) throw ConfigInvalid(problems)

  const deviceId = input.deviceId ?? (await loadOrCreateDeviceId(stateDir))
  return {
    broker: input.broker ?? DEFAULT_BROKER,
    username: input.username,
    password: input.password,
    deviceId,
    stateDir,
    hardwareProfile: input.hardwareProfile,
    profilesDir,
    threads: input.threads,
    tls: {
      ca: tls.ca && resolve(tls.ca),
      cert: tls.cert && resolve(tls.cert),
      key: tls.key && resolve(tls.key),
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    },
    logLevel: (input.logLevel as LogLevel | undefined) ?? 'info',
  }
}

/** file < env < flags, then defaults and validation. */
export async function resolveAgentConfig(sources: ConfigSources = {}): Promise<AgentConfig> {
  const fromFile = await readConfigFile(sources.configFile)
  const envProblems: string[] = []
  const fromEnv = configFromEnv(sources.env ?? {}, envProblems)
  return applyConfigDefaults(mergeConfigInputs(fromFile, fromEnv, sources.flags ?? {}), envProblems)
}
