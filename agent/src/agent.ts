/**
 * The running agent: config -> inventory and hardware profile -> durable state (outbox, jobs) ->
 * MQTT session -> job manager. On every (re)connect it publishes its retained online status and
 * info, and republishes result batches that were never published in this process; batches that
 * stay unacknowledged are republished periodically until the controller acks them.
 */
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import {
  PROTOCOL_VERSION,
  topics,
  type AckMessage,
  type InfoMessage,
  type Inventory,
  type JobStateMessage,
  type Measurement,
  type ResultsMessage,
  type RuntimeInfo,
} from '@fleetnas/shared'
import { applyConfigDefaults, type AgentConfig, type AgentConfigInput } from './config.ts'
import { compactHeapSoon } from './heap.ts'
import { JobManager } from './job-manager.ts'
import { JobStore, TERMINAL_STATES } from './job-store.ts'
import { createLogger, type Logger } from './logger.ts'
import { MqttLink, statusMessage, type ReconnectOptions } from './mqtt-link.ts'
import { Outbox } from './outbox.ts'
import { loadProfiles, matchProfile, type HardwareProfile } from './profiles.ts'
import { fallbackRuntimeInfos, runtimeProblem } from './runtimes.ts'
import type { ProbeResult } from './worker/messages.ts'
import { measureInWorker, probeInWorker, type WorkerEvent, type WorkerOptions } from './worker/worker-process.ts'
import { AGENT_VERSION } from './version.ts'

export interface AgentEventMap {
  connected: []
  disconnected: [reason: string]
  'job-state': [message: JobStateMessage]
  measurement: [measurement: Measurement]
  'results-published': [message: ResultsMessage]
  'results-acked': [ack: { jobId: string; seqs: number[] }]
  'invalid-message': [info: { topic: string; reason: string }]
  /** A worker process started or exited (probe at start, one per job). */
  worker: [event: WorkerEvent]
}

export interface StartAgentOptions {
  logger?: Logger
  /** Skip the systeminformation probe (tests, or a caller that already has it). */
  inventory?: Inventory
  /** Blocks prepared at a time in the measurement loop. */
  window?: number
  batch?: { maxBatch?: number; maxDelayMs?: number }
  reconnect?: Partial<ReconnectOptions>
  /** Unacknowledged batches older than this are published again (default 60 s). */
  resendAfterMs?: number
  /** Measurement workers: cancel grace before SIGKILL, retries after a worker died, entry script. */
  worker?: Pick<WorkerOptions, 'cancelGraceMs' | 'entry'> & { retries?: number }
}

export interface RunningAgent {
  readonly deviceId: string
  /** Id of the matched (or forced) hardware profile. */
  readonly hardwareProfile: string
  readonly profile: HardwareProfile
  readonly inventory: Inventory
  readonly config: AgentConfig
  /** Default measuring thread count (config, else the profile's). */
  readonly threads: number
  readonly events: EventEmitter<AgentEventMap>
  /** Invalid inbound messages dropped, unacknowledged batches, running and queued jobs. */
  stats(): { invalidMessages: number; outboxSize: number; currentJob?: string; queuedJobs: string[]; connected: boolean; workerPid?: number }
  /** What the start-up probe found loadable (reported in the InfoMessage). */
  readonly runtimes: RuntimeInfo[]
  /** Graceful: interrupts the running job (it resumes on restart), publishes offline status, closes. */
  stop(): Promise<void>
}

export async function startAgent(input: AgentConfigInput | AgentConfig, opts: StartAgentOptions = {}): Promise<RunningAgent> {
  const config = await applyConfigDefaults(input as AgentConfigInput)
  const logger = opts.logger ?? createLogger(config.logLevel)
  const { deviceId } = config
  const events = new EventEmitter<AgentEventMap>()
  let workerPid: number | undefined
  const workerOptions: WorkerOptions = {
    cancelGraceMs: opts.worker?.cancelGraceMs,
    entry: opts.worker?.entry,
    onWorker: (e) => {
      if (e.state === 'started' && e.purpose === 'measure') workerPid = e.pid
      if (e.state === 'exited' && e.pid === workerPid) workerPid = undefined
      logger.debug(e, `measurement worker ${e.state}`)
      events.emit('worker', e)
    },
  }
  const [profiles, probed] = await Promise.all([loadProfiles(config.profilesDir), probeDevice(!opts.inventory, workerOptions, logger)])
  // Only when the probe failed does the daemon load systeminformation itself.
  const inventory: Inventory = opts.inventory ?? probed.inventory ?? (await (await import('./inventory.ts')).collectInventory())
  const runtimes = probed.runtimes
  const profile = matchProfile(inventory, profiles, config.hardwareProfile)
  const threads = config.threads ?? profile.measure.threads
  const onBadFile = (file: string, why: string) => logger.warn({ file, why }, 'ignoring an unreadable state file')
  const [outbox, store] = await Promise.all([
    Outbox.open(join(config.stateDir, 'outbox'), onBadFile),
    JobStore.open(join(config.stateDir, 'jobs'), onBadFile),
  ])
  logger.info({ deviceId, profile: profile.id, threads, broker: config.broker, pending: outbox.size, runtimes: runtimes.map((r) => r.name) }, 'agent starting')

  let link: MqttLink | undefined
  const publishResults = (message: ResultsMessage) => {
    link?.publish('results', topics.results(deviceId), message)
    outbox.markPublished(message)
    events.emit('results-published', message)
  }

  const jobs = new JobManager({
    deviceId,
    store,
    outbox,
    profile,
    logger,
    runtimeProblem: (job) => runtimeProblem(job, runtimes),
    measure: (request, cb, signal) => measureInWorker(request, cb, signal, workerOptions),
    workerRetries: opts.worker?.retries,
    window: opts.window,
    batch: opts.batch,
    transport: {
      publishState: (m) => link?.publish('jobState', topics.jobState(deviceId, m.jobId), m),
      publishResults,
    },
    onState: (m) => {
      events.emit('job-state', m)
      if (TERMINAL_STATES.has(m.state)) compactHeapSoon()
    },
    onMeasurement: (m) => events.emit('measurement', m),
  })

  const info = (): InfoMessage => ({
    v: PROTOCOL_VERSION,
    deviceId,
    hardwareProfile: profile.id,
    inventory,
    runtimes,
    threads,
    agentVersion: AGENT_VERSION,
    time: new Date().toISOString(),
  })

  const onAck = async (ack: AckMessage) => {
    const removed = await outbox.ack(ack.jobId, ack.seqs)
    if (removed.length > 0) events.emit('results-acked', { jobId: ack.jobId, seqs: removed })
  }

  link = new MqttLink(
    config,
    { jobs: (cmd) => jobs.handleCommand(cmd), acks: onAck },
    {
      onConnect: () => {
        logger.info({ broker: config.broker }, 'connected')
        link!.publish('status', topics.status(deviceId), statusMessage(deviceId, 'online'), true)
        link!.publish('info', topics.info(deviceId), info(), true)
        for (const e of outbox.pending()) if (e.publishedAt === 0) publishResults(e.message)
        events.emit('connected')
        compactHeapSoon()
      },
      onDisconnect: (why) => {
        logger.warn({ why }, 'disconnected; reconnecting')
        events.emit('disconnected', why)
      },
      onInvalid: (topic, reason) => events.emit('invalid-message', { topic, reason }),
    },
    logger,
    opts.reconnect,
  )

  // Batches that nobody acknowledged (controller down, session lost) go out again.
  const resendAfterMs = opts.resendAfterMs ?? 60000
  const resendTimer = setInterval(() => {
    if (!link?.connected) return
    const now = Date.now()
    // Bounded per tick so a long outage does not turn into a flood.
    const due = outbox.pending().filter((e) => now - e.publishedAt >= resendAfterMs)
    for (const e of due.slice(0, 100)) publishResults(e.message)
  }, Math.max(100, Math.min(10000, resendAfterMs / 2)))
  resendTimer.unref()

  jobs.resumeUnfinished()

  let stopped: Promise<void> | undefined
  return {
    deviceId,
    hardwareProfile: profile.id,
    profile,
    inventory,
    config,
    threads,
    events,
    runtimes,
    stats: () => ({
      invalidMessages: link?.invalidMessages ?? 0,
      outboxSize: outbox.size,
      currentJob: jobs.currentJobId,
      queuedJobs: jobs.queuedJobIds,
      connected: link?.connected ?? false,
      workerPid,
    }),
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(resendTimer)
        await jobs.stop()
        await link?.close()
        logger.info({ deviceId }, 'agent stopped')
      })()),
  }
}

/** Runtimes (and the inventory when asked) from a short-lived worker; what package.json says if it fails. */
async function probeDevice(withInventory: boolean, o: WorkerOptions, logger: Logger): Promise<Partial<ProbeResult> & { runtimes: RuntimeInfo[] }> {
  try {
    const probed = await probeInWorker(withInventory, o)
    for (const problem of probed.problems) logger.warn({ problem }, 'a runtime does not load here')
    return probed
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'runtime probe failed; reporting installed runtimes unprobed')
    return { runtimes: fallbackRuntimeInfos() }
  }
}
