/**
 * The controller's MQTT session: fixed client id, clean=false and QoS 1 subscriptions, so the
 * broker keeps results for it while it is down. Subscribes again whenever the broker has no session.
 *
 * With an ingest group (several controller processes sharing the ingest, external broker only) the
 * session speaks MQTT 5, keeps its session for `sessionExpiryS` after a disconnect, and takes
 * results through the shared subscription `$share/<group>/...`: the broker hands each batch to one
 * member of the group.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { controllerSubscriptions, topics } from '@fleetnas/shared'
import type { Logger } from 'pino'
import { BrokerUnavailable } from '../errors.ts'

export const CONTROLLER_CLIENT_ID = 'fleetnas-controller'

export interface Publisher {
  publish(topic: string, payload: string, opts?: { retain?: boolean }): Promise<void>
}

export interface ControllerClient extends Publisher {
  readonly mqtt: MqttClient
  close(): Promise<void>
}

export interface ControllerClientOptions {
  url: string
  username?: string
  password?: string
  clientId?: string
  log: Logger
  onMessage(topic: string, payload: Buffer, retained: boolean): void
  /**
   * Asked after each delivery is handled, before it is acknowledged to the broker and the next one
   * is read: call `go` now, or later to hold the broker back (the ingest queue's backpressure).
   */
  admit?(go: () => void): void
  /** Default: every agent-side topic, unshared. */
  subscriptions?: string[]
  /** MQTT 5 with a session that outlives a disconnect by this long (shared subscriptions need MQTT 5). */
  mqtt5SessionExpiryS?: number
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number
}

/** What a controller process subscribes to: unshared agent topics when it schedules, results shared in a group. */
export function subscriptionsFor(o: { ingestGroup?: string; scheduling: boolean }): string[] {
  if (!o.ingestGroup) return controllerSubscriptions
  const results = topics.results('+')
  const own = o.scheduling ? controllerSubscriptions.filter((f) => f !== results) : []
  return [...own, `$share/${o.ingestGroup}/${results}`]
}

export async function connectControllerClient(opts: ControllerClientOptions): Promise<ControllerClient> {
  const { log } = opts
  const client = mqtt.connect(opts.url, {
    clientId: opts.clientId ?? CONTROLLER_CLIENT_ID,
    clean: false,
    username: opts.username,
    password: opts.password,
    reconnectPeriod: 1000,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    resubscribe: false, // we subscribe on every connect without a session, below
    ...(opts.mqtt5SessionExpiryS !== undefined && { protocolVersion: 5, properties: { sessionExpiryInterval: opts.mqtt5SessionExpiryS } }),
  })
  const subscriptions = opts.subscriptions ?? controllerSubscriptions
  client.on('message', (topic, payload, packet) => opts.onMessage(topic, payload, packet.retain))
  // mqtt.js acknowledges a QoS 1 delivery and reads the next one when this calls back.
  if (opts.admit) {
    const admit = opts.admit
    client.handleMessage = (_packet, done) => admit(() => done?.())
  }
  client.on('connect', (connack) => {
    log.info({ url: opts.url, sessionPresent: connack.sessionPresent }, 'mqtt connected')
    if (!connack.sessionPresent)
      client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
        if (err) log.error({ err }, 'mqtt subscribe failed')
        // A refusal (ACL, or no shared subscriptions on this broker) comes back as a failure code.
        for (const g of granted ?? []) if (g.qos > 2) log.error({ topic: g.topic, code: g.qos }, 'mqtt subscription refused by the broker')
      })
  })
  client.on('offline', () => log.warn({ url: opts.url }, 'mqtt offline; reconnecting'))
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'))

  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      client.end(true)
      reject(BrokerUnavailable(opts.url, err.message))
    }
    const timer = setTimeout(() => fail(new Error(`no connection within ${opts.connectTimeoutMs ?? 10_000} ms`)), opts.connectTimeoutMs ?? 10_000)
    client.once('connect', () => {
      clearTimeout(timer)
      client.removeListener('error', onError)
      resolve()
    })
    // Bad credentials are final; anything else (refused, unreachable) is retried until the timer.
    const onError = (err: Error & { code?: number }) => {
      if (err.code === 4 || err.code === 5) {
        clearTimeout(timer)
        fail(err)
      }
    }
    client.on('error', onError)
  })

  return {
    mqtt: client,
    publish: (topic, payload, { retain = false } = {}) =>
      new Promise<void>((resolve, reject) => client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve()))),
    // Let in-flight publishes finish, but do not hang a shutdown on a broker that is gone.
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => client.end(true, {}, () => resolve()), 2000)
        client.end(false, {}, () => {
          clearTimeout(force)
          resolve()
        })
      }),
  }
}
