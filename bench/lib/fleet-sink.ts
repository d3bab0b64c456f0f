/**
 * A child process of bench:fleet: the one subscriber of the raw broker measurement. It subscribes
 * at QoS 1 to every device's results topic and counts what arrives. With `embedded` it also hosts
 * the controller's embedded broker (aedes, no auth), so it has the controller's shape (broker and
 * one subscriber in one process) minus the ingest; otherwise it connects to `url`.
 */
import mqtt from 'mqtt'
import { pino } from 'pino'
import { topics } from '@fleetnas/shared'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../controller/src/mqtt/broker.ts'

export type SinkCommand =
  | { type: 'start'; embedded: true }
  | { type: 'start'; embedded: false; url: string; username?: string; password?: string }
  | { type: 'report' }
  | { type: 'stop' }

export type SinkReport =
  | { type: 'ready'; url: string }
  | { type: 'report'; received: number; firstAt: number; lastAt: number }
  | { type: 'error'; message: string }

const send = (r: SinkReport) => process.send?.(r)
let broker: EmbeddedBroker | undefined
let client: mqtt.MqttClient | undefined
let received = 0
let firstAt = 0
let lastAt = 0

async function start(c: Extract<SinkCommand, { type: 'start' }>): Promise<void> {
  let url: string
  let login = {}
  if (c.embedded) {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, auth: null, log: pino({ level: 'silent' }), onRefused: () => {} })
    url = broker.url
  } else {
    url = c.url
    login = { username: c.username, password: c.password }
  }
  client = await mqtt.connectAsync(url, { clientId: 'fleetnas-bench-sink', clean: true, reconnectPeriod: 0, ...login })
  client.on('message', () => {
    const now = performance.now()
    if (received === 0) firstAt = now
    lastAt = now
    received++
  })
  await client.subscribeAsync(topics.results('+'), { qos: 1 })
  send({ type: 'ready', url })
}

process.on('message', (c: SinkCommand) => {
  if (c.type === 'start') start(c).catch((e) => send({ type: 'error', message: (e as Error).stack ?? String(e) }))
  else if (c.type === 'report') send({ type: 'report', received, firstAt, lastAt })
  else if (c.type === 'stop')
    void (async () => {
      await client?.endAsync(true)
      await broker?.close()
      process.exit(0)
    })()
})
process.on('disconnect', () => process.exit(0))
