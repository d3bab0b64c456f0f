/**
 * The embedded MQTT broker (aedes 1.x, MQTT 3.1.1) for a one-machine fleet. With auth on, a device
 * logs in with username = its id and its provisioned secret and is held to the shared ACL
 * (`mayPublish`/`maySubscribe`); the controller's own client logs in with an internal credential
 * made fresh at each start. Refused publishes and subscriptions are counted for /metrics.
 *
 * Persistence is aedes' in-memory one: it lives and dies with this process, like the controller
 * session it would hold messages for, so there is nothing a restart could replay; agents keep
 * unacknowledged results on disk and republish their retained status/info when they reconnect.
 */
import net from 'node:net'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { mayPublish, maySubscribe } from '@fleetnas/shared'
import type { Logger } from 'pino'
import { BrokerListen } from '../errors.ts'
import { sameSecret, verifySecret } from './credentials.ts'

export interface BrokerAuth {
  controllerUsername: string
  controllerPassword: string
  /** The stored scrypt hash of a device's secret, or null when it has none. */
  secretHashOf(deviceId: string): string | null
}

export interface EmbeddedBrokerOptions {
  host: string
  port: number
  /** null: no authentication (insecure mode). */
  auth: BrokerAuth | null
  log: Logger
  onRefused(action: 'connect' | 'publish' | 'subscribe'): void
}

export interface EmbeddedBroker {
  url: string
  port: number
  aedes: Aedes
  close(): Promise<void>
}

const BAD_CREDENTIALS = 4 // CONNACK return code: bad user name or password

function authError(): AuthenticateError {
  return Object.assign(new Error('bad username or password'), { returnCode: BAD_CREDENTIALS }) as AuthenticateError
}

/** Who a connected client is, set at authentication. */
const identities = new WeakMap<Client, { controller: true } | { deviceId: string }>()

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { auth, log, onRefused } = opts
  const aedes = await Aedes.createBroker({
    id: 'fleetnas-embedded',
    ...(auth && {
      authenticate: (client, username, password, done) => {
        const pass = password?.toString('utf8') ?? ''
        if (username === auth.controllerUsername) {
          if (sameSecret(pass, auth.controllerPassword)) {
            identities.set(client, { controller: true })
            return done(null, true)
          }
          onRefused('connect')
          return done(authError(), false)
        }
        const hash = username ? auth.secretHashOf(username) : null
        if (!username || !hash) {
          onRefused('connect')
          log.warn({ clientId: client.id, username }, 'mqtt connect refused: unknown device or no credentials provisioned')
          return done(authError(), false)
        }
        verifySecret(pass, hash).then(
          (ok) => {
            if (ok) identities.set(client, { deviceId: username })
            else {
              onRefused('connect')
              log.warn({ clientId: client.id, username }, 'mqtt connect refused: wrong secret')
            }
            done(ok ? null : authError(), ok)
          },
          (e) => done(Object.assign(e as Error, { returnCode: 3 }) as AuthenticateError, false),
        )
      },
      authorizePublish: (client, packet, done) => {
        const who = client && identities.get(client)
        if (!client || (who && 'controller' in who)) return done(null) // broker-internal or the controller
        if (who && mayPublish(who.deviceId, packet.topic)) return done(null)
        onRefused('publish')
        log.warn({ clientId: client.id, topic: packet.topic }, 'mqtt publish refused by ACL')
        done(new Error(`publish to ${packet.topic} not allowed`))
      },
      authorizeSubscribe: (client, sub, done) => {
        const who = identities.get(client)
        if (who && ('controller' in who || maySubscribe(who.deviceId, sub.topic))) return done(null, sub)
        onRefused('subscribe')
        log.warn({ clientId: client.id, topic: sub.topic }, 'mqtt subscribe refused by ACL')
        done(null, null) // MQTT 3.1.1: a refused subscription gets a failure code in SUBACK, the connection stays
      },
    }),
    ...(!auth && {
      // Insecure mode lets every publish through except one to a topic with an empty level (never a
      // fleetnas topic): aedes delivers it to the controller's '+' subscriptions but its session store
      // does not match '+' to an empty level, so the controller's PUBACK finds no packet and aedes
      // drops the controller's connection (with auth on, the ACL refuses these already).
      authorizePublish: (client, packet, done) => {
        if (!client || !packet.topic.split('/').includes('')) return done(null)
        onRefused('publish')
        log.warn({ clientId: client.id, topic: packet.topic }, 'mqtt publish refused: empty topic level')
        done(new Error(`publish to ${packet.topic} not allowed: empty topic level`))
      },
    }),
  })
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(BrokerListen(opts.host, opts.port, e.message)))
    server.listen(opts.port, opts.host, () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    aedes,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
