/** Campaigns, their targets (block keys and architecture ids), executions (one per device, runtime, threads) and the jobs sent for them. */
import type Database from 'better-sqlite3'
import type { MeasureSettings, RuntimeName } from '@fleetnas/shared'

/** AWS IoT Jobs execution states. */
export const EXECUTION_STATES = ['QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELED'] as const
export type ExecutionState = (typeof EXECUTION_STATES)[number]
export const TERMINAL_STATES: ReadonlySet<ExecutionState> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELED'])
export const FAILED_STATES: ReadonlySet<ExecutionState> = new Set(['FAILED', 'TIMED_OUT', 'REJECTED'])

export const CAMPAIGN_STATES = ['QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const
export type CampaignState = (typeof CAMPAIGN_STATES)[number]

export interface CampaignTargets {
  devices?: string[]
  hardwareProfiles?: string[]
}

export interface Campaign {
  id: string
  name: string
  state: CampaignState
  runtimes: RuntimeName[]
  settings: MeasureSettings
  targets: CampaignTargets
  keyCount: number
  executionTimeoutMs: number
  maxRetries: number
  canceled: boolean
  createdAt: string
  updatedAt: string
}

export interface Execution {
  id: string
  campaignId: string
  deviceId: string
  runtime: RuntimeName
  threads: number
  state: ExecutionState
  /** Jobs sent for this execution. */
  attempts: number
  /** Retries spent (after timeouts and failures), bounded by the campaign's maxRetries. */
  retries: number
  /** The job currently out on the device, if any. */
  jobId: string | null
  lastProgress: string | null
  agentDone: number | null
  agentTotal: number | null
  /** The agent said SUCCEEDED for the current job; waiting for its last results. */
  agentFinished: boolean
  reason: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  /** Campaign blocks stored for this execution (counted as stored: measurements.insertBatch, migration 10). */
  done: number
}

/** One thing a campaign measures: a block (by its LUT key) or a whole architecture (by its id). */
export interface CampaignKey {
  kind: 'block' | 'architecture'
  key: string
}

export interface NewExecution {
  id: string
  deviceId: string
  runtime: RuntimeName
  threads: number
}

const CAMPAIGN_COLUMNS = `id, name, state, runtimes, settings, targets, key_count AS keyCount,
  execution_timeout_ms AS executionTimeoutMs, max_retries AS maxRetries, canceled, created_at AS createdAt, updated_at AS updatedAt`
const EXECUTION_COLUMNS = `e.id, e.campaign_id AS campaignId, e.device_id AS deviceId, e.runtime, e.threads, e.state, e.attempts,
  e.retries, e.job_id AS jobId, e.last_progress AS lastProgress, e.agent_done AS agentDone, e.agent_total AS agentTotal,
  e.agent_finished AS agentFinished, e.reason, e.created_at AS createdAt, e.started_at AS startedAt, e.finished_at AS finishedAt, e.done`

type Raw<T> = { [K in keyof T]: unknown }

/** Job owners kept in memory (about a fleet's worth of current jobs); past this the memo starts over. */
const MAX_REMEMBERED_OWNERS = 20_000

function toCampaign(r: Raw<Campaign>): Campaign {
  return {
    ...(r as unknown as Campaign),
    runtimes: JSON.parse(r.runtimes as string),
    settings: JSON.parse(r.settings as string),
    targets: JSON.parse(r.targets as string),
    canceled: r.canceled === 1,
  }
}

function toExecution(r: Raw<Execution>): Execution {
  return { ...(r as unknown as Execution), agentFinished: r.agentFinished === 1 }
}

export function campaignQueries(db: Database.Database) {
  const insertCampaign = db.prepare(
    `INSERT INTO campaigns (id, name, state, runtimes, settings, targets, key_count, execution_timeout_ms, max_retries, created_at, updated_at)
     VALUES (@id, @name, 'QUEUED', @runtimes, @settings, @targets, @keyCount, @executionTimeoutMs, @maxRetries, @now, @now)`,
  )
  const insertKey = db.prepare(`INSERT INTO campaign_keys (campaign_id, ord, key, kind) VALUES (?, ?, ?, ?)`)
  const insertExecution = db.prepare(
    `INSERT INTO executions (id, campaign_id, device_id, runtime, threads, state, created_at) VALUES (?, ?, ?, ?, ?, 'QUEUED', ?)`,
  )
  const getCampaign = db.prepare<[string], Raw<Campaign>>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?`)
  const listCampaigns = db.prepare<[], Raw<Campaign>>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at DESC, id`)
  const keysOf = db.prepare<[string], CampaignKey>(`SELECT kind, key FROM campaign_keys WHERE campaign_id = ? ORDER BY ord`)
  const architectureCount = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM campaign_keys WHERE campaign_id = ? AND kind = 'architecture'`)
  const hasKey = db.prepare<[string, string], { one: number }>(`SELECT 1 AS one FROM campaign_keys WHERE campaign_id = ? AND key = ?`)
  const executionsOf = db.prepare<[string], Raw<Execution>>(`SELECT ${EXECUTION_COLUMNS} FROM executions e WHERE e.campaign_id = ? ORDER BY e.id`)
  const getExecution = db.prepare<[string], Raw<Execution>>(`SELECT ${EXECUTION_COLUMNS} FROM executions e WHERE e.id = ?`)
  const jobOwner = db.prepare<[string], { executionId: string; campaignId: string; deviceId: string; attempt: number }>(
    `SELECT j.execution_id AS executionId, e.campaign_id AS campaignId, j.device_id AS deviceId, j.attempt
     FROM jobs j JOIN executions e ON e.id = j.execution_id WHERE j.job_id = ?`,
  )
  // Asked for every results batch and job state. A job's row and its execution's campaign never
  // change once written (nothing updates or deletes them), so a found owner is remembered: a map
  // lookup instead of a join (~5 µs of CPU each).
  const owners = new Map<string, { executionId: string; campaignId: string; deviceId: string; attempt: number }>()
  const keyCount = db.prepare<[string], { n: number; canceled: number }>(`SELECT key_count AS n, canceled FROM campaigns WHERE id = ?`)
  // A seek in executions_campaign_state (migration 9), whatever the campaign's size.
  const anyOpen = db.prepare<[string], { one: number }>(
    `SELECT 1 AS one FROM executions WHERE campaign_id = ? AND state IN ('QUEUED', 'IN_PROGRESS') LIMIT 1`,
  )
  const anyStarted = db.prepare<[string], { one: number }>(
    `SELECT 1 AS one FROM executions e WHERE e.campaign_id = ? AND (e.state <> 'QUEUED' OR e.done > 0) LIMIT 1`,
  )
  const anyNotSucceeded = db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM executions WHERE campaign_id = ? AND state <> 'SUCCEEDED' LIMIT 1`)
  const campaignState = db.prepare<[string], { state: CampaignState; canceled: number }>(`SELECT state, canceled FROM campaigns WHERE id = ?`)
  const unfinishedOfDevice = db.prepare<[string], Raw<Execution>>(
    `SELECT ${EXECUTION_COLUMNS} FROM executions e JOIN campaigns c ON c.id = e.campaign_id
     WHERE e.device_id = ? AND e.state IN ('QUEUED', 'IN_PROGRESS') ORDER BY c.created_at, e.id`,
  )
  const outstanding = db.prepare<[], Raw<Execution> & { executionTimeoutMs: number; keyCount: number }>(
    `SELECT ${EXECUTION_COLUMNS}, c.execution_timeout_ms AS executionTimeoutMs, c.key_count AS keyCount
     FROM executions e JOIN campaigns c ON c.id = e.campaign_id JOIN devices d ON d.id = e.device_id
     WHERE e.state IN ('QUEUED', 'IN_PROGRESS') AND e.job_id IS NOT NULL AND d.status = 'online'`,
  )
  const devicesWithUnfinished = db.prepare<[], { deviceId: string }>(
    `SELECT DISTINCT device_id AS deviceId FROM executions WHERE state IN ('QUEUED', 'IN_PROGRESS')`,
  )
  const insertJob = db.prepare(`INSERT INTO jobs (job_id, execution_id, device_id, attempt, sent_at) VALUES (?, ?, ?, ?, ?)`)
  const jobSent = db.prepare(
    `UPDATE executions SET job_id = ?, attempts = ?, last_progress = ?, agent_finished = 0, agent_done = NULL, agent_total = NULL WHERE id = ?`,
  )
  // Positional parameters on the per-message path: better-sqlite3 binds a named one by a property
  // lookup each (six times slower than positional on the measurements insert), and takes no ?NNN.
  const setState = db.prepare(
    `UPDATE executions SET state = ?, reason = coalesce(?, reason),
       started_at = CASE WHEN ? = 'IN_PROGRESS' THEN coalesce(started_at, ?) ELSE started_at END,
       finished_at = CASE WHEN ? THEN ? ELSE NULL END,
       job_id = CASE WHEN ? THEN NULL ELSE job_id END
     WHERE id = ?`,
  )
  const progress = db.prepare(
    `UPDATE executions SET last_progress = ?, agent_done = coalesce(?, agent_done), agent_total = coalesce(?, agent_total) WHERE id = ?`,
  )
  const agentFinished = db.prepare(`UPDATE executions SET agent_finished = 1, last_progress = ? WHERE id = ?`)
  const retry = db.prepare(`UPDATE executions SET state = 'QUEUED', job_id = NULL, retries = retries + 1, reason = ? WHERE id = ?`)
  const setCampaignState = db.prepare(`UPDATE campaigns SET state = ?, updated_at = ? WHERE id = ? AND state <> ?`)
  const cancelCampaign = db.prepare(`UPDATE campaigns SET canceled = 1, state = 'CANCELED', updated_at = ? WHERE id = ?`)
  const unfinishedCampaigns = db.prepare<[], { id: string }>(`SELECT id FROM campaigns WHERE state IN ('QUEUED', 'IN_PROGRESS')`)
  const countByState = db.prepare<[], { state: CampaignState; n: number }>(`SELECT state, count(*) AS n FROM campaigns GROUP BY state`)
  const storedKeys = db.prepare<[string], { key: string }>(`SELECT key FROM execution_blocks WHERE execution_id = ?`)

  return {
    create: db.transaction(
      (c: Omit<Campaign, 'state' | 'canceled' | 'createdAt' | 'updatedAt' | 'keyCount'>, keys: CampaignKey[], executions: NewExecution[], now: string) => {
        insertCampaign.run({
          id: c.id,
          name: c.name,
          runtimes: JSON.stringify(c.runtimes),
          settings: JSON.stringify(c.settings),
          targets: JSON.stringify(c.targets),
          keyCount: keys.length,
          executionTimeoutMs: c.executionTimeoutMs,
          maxRetries: c.maxRetries,
          now,
        })
        keys.forEach((k, i) => insertKey.run(c.id, i, k.key, k.kind))
        for (const e of executions) insertExecution.run(e.id, c.id, e.deviceId, e.runtime, e.threads, now)
      },
    ),
    get: (id: string): Campaign | undefined => {
      const r = getCampaign.get(id)
      return r && toCampaign(r)
    },
    list: (): Campaign[] => listCampaigns.all().map(toCampaign),
    keys: (id: string): CampaignKey[] => keysOf.all(id),
    /** Of a campaign's keyCount targets, how many are whole architectures. */
    architectureCount: (id: string): number => architectureCount.get(id)!.n,
    hasKey: (campaignId: string, key: string): boolean => hasKey.get(campaignId, key) !== undefined,
    executions: (campaignId: string): Execution[] => executionsOf.all(campaignId).map(toExecution),
    execution: (id: string): Execution | undefined => {
      const r = getExecution.get(id)
      return r && toExecution(r)
    },
    /** The job's execution, campaign, device and attempt; undefined for a job never sent. */
    jobOwner: (jobId: string) => {
      let owner = owners.get(jobId)
      if (owner) return owner
      owner = jobOwner.get(jobId)
      if (owner) {
        if (owners.size >= MAX_REMEMBERED_OWNERS) owners.clear()
        owners.set(jobId, owner)
      }
      return owner
    },
    /** Targets per execution of a campaign (fixed at creation), without reading the rest of it. */
    keyCount: (id: string): number | undefined => keyCount.get(id)?.n,
    /** The campaign's state and whether it was canceled, without parsing the rest of it. */
    stateOf: (id: string) => {
      const r = campaignState.get(id)
      return r && { state: r.state, canceled: r.canceled === 1 }
    },
    /** Whether a QUEUED or IN_PROGRESS execution is left (an index seek, not a scan of the campaign). */
    hasOpenExecutions: (id: string): boolean => anyOpen.get(id) !== undefined,
    /** Whether any execution left QUEUED or stored a block. */
    hasStartedExecutions: (id: string): boolean => anyStarted.get(id) !== undefined,
    allSucceeded: (id: string): boolean => anyNotSucceeded.get(id) === undefined,
    /** QUEUED and IN_PROGRESS executions of a device, oldest campaign first. */
    unfinishedOfDevice: (deviceId: string): Execution[] => unfinishedOfDevice.all(deviceId).map(toExecution),
    /** Executions with a job out on an online device (candidates for a timeout). */
    outstanding: () => outstanding.all().map((r) => ({ ...toExecution(r), executionTimeoutMs: r.executionTimeoutMs, keyCount: r.keyCount })),
    devicesWithUnfinished: () => devicesWithUnfinished.all().map((r) => r.deviceId),
    recordJob: db.transaction((executionId: string, deviceId: string, jobId: string, attempt: number, now: string) => {
      insertJob.run(jobId, executionId, deviceId, attempt, now)
      jobSent.run(jobId, attempt, now, executionId)
    }),
    setState: (id: string, state: ExecutionState, now: string, reason?: string) => {
      const terminal = TERMINAL_STATES.has(state) ? 1 : 0
      return setState.run(state, reason ?? null, state, now, terminal, now, terminal, id)
    },
    progress: (id: string, now: string, done?: number, total?: number) => progress.run(now, done ?? null, total ?? null, id),
    agentFinished: (id: string, now: string) => agentFinished.run(now, id),
    requeueForRetry: (id: string, reason: string) => retry.run(reason, id),
    setCampaignState: (id: string, state: CampaignState, now: string) => setCampaignState.run(state, now, id, state).changes > 0,
    cancel: (id: string, now: string) => cancelCampaign.run(now, id),
    unfinishedCampaignIds: () => unfinishedCampaigns.all().map((r) => r.id),
    countByState: () => countByState.all(),
    storedKeys: (executionId: string): string[] => storedKeys.all(executionId).map((r) => r.key),
  }
}
export type CampaignQueries = ReturnType<typeof campaignQueries>
