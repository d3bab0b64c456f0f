/**
 * Starts a controller: store, broker (embedded aedes unless an external URL is configured), the
 * controller's MQTT session with its dispatcher, the campaign scheduler and the HTTP API; `stop()`
 * takes them down in reverse order.
 */
import crypto from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import { resolveControllerConfig, type ControllerConfig, type ControllerConfigInput } from './config.ts'
import { openStore, type Store } from './store/db.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from './mqtt/broker.ts'
import os from 'node:os'
import { CONTROLLER_CLIENT_ID, connectControllerClient, subscriptionsFor, type ControllerClient, type Publisher } from './mqtt/client.ts'
import { createDispatcher } from './mqtt/dispatcher.ts'
import { IngestQueue } from './mqtt/ingest-queue.ts'
import { DeviceLimits } from './mqtt/device-limits.ts'
import { ingestOnlyEvents, Scheduler } from './campaigns/scheduler.ts'
import { LatencyModels } from './latency/service.ts'
import { ArchitectureRequests } from './architectures/service.ts'
import { openSupernetSource, checkpointExists } from './architectures/supernet-source.ts'
import { buildHttpServer } from './http/server.ts'
import { loadOrCreateApiToken } from './api-token.ts'
import { REFUSED_COUNTER } from './metrics.ts'
import { ConfigInvalid, HttpListen } from './errors.ts'
import { FleetEvents } from './events.ts'

export interface StartOptions {
  /** A pino logger; default: pino at config.logLevel on stdout. */
  logger?: Logger
  /** Environment to read FLEETNAS_API_TOKEN from; default process.env. */
  env?: NodeJS.ProcessEnv
}

export interface RunningController {
  config: ControllerConfig
  /** e.g. http://127.0.0.1:8080 */
  httpUrl: string
  /** The broker agents connect to (embedded: mqtt://host:port). */
  mqttUrl: string
  /** The bearer token /v1 needs; undefined in insecure mode. */
  apiToken?: string
  /** Whether the broker checks device credentials (embedded broker, not insecure). */
  deviceAuth: boolean
  store: Store
  scheduler: Scheduler
  latency: LatencyModels
  architectures: ArchitectureRequests
  http: FastifyInstance
  stop(): Promise<void>
}

/** Username of the controller's own session on the embedded broker (reserved: no device may take it). */
export const CONTROLLER_USERNAME = CONTROLLER_CLIENT_ID

const LUT_FOLD_INTERVAL_MS = 5000
/** MQTT 5 session expiry of a process with a stable client id: the broker holds its results this long. */
const SESSION_EXPIRY_S = 14 * 24 * 3600
/** A worker with a per-process client id never comes back under it: its session should not outlive it by much. */
const WORKER_SESSION_EXPIRY_S = 300

export async function startController(input: ControllerConfigInput = {}, opts: StartOptions = {}): Promise<RunningController> {
  const config = resolveControllerConfig(input, opts.env ?? process.env)
  const log = opts.logger ?? pino({ level: config.logLevel, name: 'fleetnas-controller' })
  const cleanup: (() => Promise<void> | void)[] = []
  const stop = async () => {
    for (const fn of cleanup.splice(0).reverse()) {
      try {
        await fn()
      } catch (err) {
        log.warn({ err }, 'error while stopping')
      }
    }
  }

  try {
    const store = openStore(config.dataDir)
    cleanup.push(() => store.close())
    const apiToken = config.insecure ? undefined : (config.apiToken ?? loadOrCreateApiToken(config.dataDir, log))
    if (config.insecure) log.warn('insecure mode: the HTTP API needs no token and the broker checks no credentials')

    let broker: EmbeddedBroker | undefined
    let mqttUrl: string
    let username: string | undefined
    let password: string | undefined
    const deviceAuth = config.broker === undefined && !config.insecure
    if (config.broker) {
      mqttUrl = config.broker
      username = config.brokerUsername
      password = config.brokerPassword
    } else {
      // A fresh embedded broker: nobody is connected, so nobody is online until they say so.
      store.devices.markAllOffline()
      const controllerPassword = crypto.randomBytes(24).toString('base64url')
      broker = await startEmbeddedBroker({
        host: config.host,
        port: config.mqttPort,
        log,
        auth: deviceAuth
          ? { controllerUsername: CONTROLLER_USERNAME, controllerPassword, secretHashOf: (id) => store.devices.secretHash(id) }
          : null,
        onRefused: (action) => store.counters.increment(REFUSED_COUNTER, { action }),
      })
      cleanup.push(() => broker!.close())
      mqttUrl = broker.url
      if (deviceAuth) {
        username = CONTROLLER_USERNAME
        password = controllerPassword
      }
      log.info({ url: mqttUrl, deviceAuth }, 'embedded MQTT broker listening')
    }

    // The scheduler publishes through the session that is connected just below.
    let client: ControllerClient | undefined
    const publisher: Publisher = {
      publish: (topic, payload, o) => (client ? client.publish(topic, payload, o) : Promise.reject(new Error('MQTT session not started'))),
    }
    const events = new FleetEvents()
    const scheduler = new Scheduler({
      store,
      publisher,
      log,
      defaults: config.campaignDefaults,
      intervalMs: config.schedulerIntervalMs,
      onChange: (campaignId) => events.campaign(campaignId),
    })
    cleanup.push(() => scheduler.stop())
    const latency = new LatencyModels(store, log)
    cleanup.push(() => latency.stop())
    const now = () => new Date().toISOString()
    const schedulerEvents = config.scheduling ? scheduler : ingestOnlyEvents(store, now)
    const ingest = new IngestQueue({
      store,
      scheduler: schedulerEvents,
      latency,
      publisher,
      log,
      now,
      maxBatchesPerTransaction: config.ingest.maxBatchesPerTransaction,
      highWater: config.ingest.queueHighWater,
    })
    const limits = new DeviceLimits({ ratePerS: config.ingest.deviceRatePerS, burst: config.ingest.deviceBurst })
    const dispatch = createDispatcher({ store, ingest, scheduler: schedulerEvents, latency, publisher, log, now }, { limits })
    const onMessage = (topic: string, payload: Buffer, retained: boolean) => {
      dispatch(topic, payload, retained)
      events.afterMessage(topic)
    }
    // LUT rows marked by ingest are folded in before every LUT read; this keeps them fresh between reads.
    const lutFold = setInterval(() => {
      try {
        store.foldLuts()
      } catch (err) {
        log.warn({ err }, 'LUT fold failed; retried at the next read or tick')
      }
    }, LUT_FOLD_INTERVAL_MS)
    lutFold.unref()
    cleanup.push(() => clearInterval(lutFold))
    if (config.supernet && !(await checkpointExists(config.supernet))) throw ConfigInvalid([`supernet: no checkpoint at ${config.supernet}`])
    const accuracy = config.supernet ? await openSupernetSource(config.supernet, { ...config.accuracyEstimation, log }) : undefined
    const architectures = new ArchitectureRequests({ store, scheduler, latency, accuracy, log, onChange: (id) => events.architecture(id) })
    cleanup.push(() => architectures.stop())
    client = await connectControllerClient({
      url: mqttUrl,
      username,
      password,
      log,
      onMessage,
      admit: (go) => ingest.admit(go),
      clientId: config.mqttClientId ?? (config.scheduling ? CONTROLLER_CLIENT_ID : `fleetnas-ingest-${os.hostname()}-${process.pid}`),
      subscriptions: subscriptionsFor({ ingestGroup: config.ingestGroup, scheduling: config.scheduling }),
      ...(config.ingestGroup !== undefined && { mqtt5SessionExpiryS: config.scheduling || config.mqttClientId ? SESSION_EXPIRY_S : WORKER_SESSION_EXPIRY_S }),
    })
    cleanup.push(() => client!.close())
    // Runs before the session closes: what is queued is stored and acked.
    cleanup.push(() => ingest.stop())
    if (config.scheduling) scheduler.start()
    architectures.start()

    const http = await buildHttpServer({
      store,
      scheduler,
      latency,
      architectures,
      events,
      apiToken,
      log,
      mqtt: {
        url: mqttUrl,
        connected: () => client!.mqtt.connected,
        controllerUsername: CONTROLLER_USERNAME,
        deviceAuth,
        ingest: () => ({ queue: ingest.figures(), throttled: limits.figures() }),
      },
    })
    cleanup.push(() => http.close())
    try {
      await http.listen({ host: config.host, port: config.httpPort })
    } catch (e) {
      throw HttpListen(config.host, config.httpPort, (e as Error).message)
    }
    const addr = http.server.address()
    const port = typeof addr === 'object' && addr ? addr.port : config.httpPort
    const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host
    const httpUrl = `http://${host}:${port}`
    log.info({ httpUrl, mqttUrl, docs: `${httpUrl}/docs` }, 'controller started')
    return { config, httpUrl, mqttUrl, apiToken, deviceAuth, store, scheduler, latency, architectures, http, stop }
  } catch (e) {
    await stop()
    throw e
  }
}
