/**
 * The controller's one MQTT session: fixed client id, clean=false and QoS 1 subscriptions, so the
 * broker keeps results for it while it is down. Subscribes again whenever the broker has no session.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { controllerSubscriptions } from '@fleetnas/shared'
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
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number
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
  })
  client.on('message', (topic, payload, packet) => opts.onMessage(topic, payload, packet.retain))
  client.on('connect', (connack) => {
    log.info({ url: opts.url, sessionPresent: connack.sessionPresent }, 'mqtt connected')
    if (!connack.sessionPresent)
      client.subscribe(controllerSubscriptions, { qos: 1 }, (err) => {
        if (err) log.error({ err }, 'mqtt subscribe failed')
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
