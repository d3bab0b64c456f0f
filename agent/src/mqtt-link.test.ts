import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import t from 'tap'
import pino from 'pino'
import { encodeMessage, PROTOCOL_VERSION, topics } from '@fleetnas/shared'
import type { AgentConfig } from './config.ts'
import { MqttLink } from './mqtt-link.ts'

const logger = pino({ level: 'silent' })

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const config = (port: number): AgentConfig => ({
  broker: `mqtt://127.0.0.1:${port}`,
  deviceId: 'link-dev',
  stateDir: '/nonexistent',
  profilesDir: '/nonexistent',
  tls: { rejectUnauthorized: true },
  logLevel: 'silent',
})

t.test('reconnects with a growing, capped period until a broker appears; then dispatches', async (t) => {
  const port = await freePort()
  const disconnects: number[] = []
  let connected!: () => void
  const isConnected = new Promise<void>((r) => (connected = r))
  const jobs: string[] = []
  let link!: MqttLink
  const enoughFailures = new Promise<void>((resolve) => {
    link = new MqttLink(
      config(port),
      { jobs: (cmd) => void jobs.push(cmd.jobId), acks: () => undefined },
      {
        onConnect: () => connected(),
        onDisconnect: () => {
          disconnects.push(link.client.options.reconnectPeriod!)
          if (disconnects.length === 5) resolve()
        },
        onInvalid: () => undefined,
      },
      logger,
      { minMs: 20, maxMs: 100 },
    )
  })
  await enoughFailures
  t.same(disconnects.slice(0, 4), [40, 80, 100, 100], 'doubles from minMs, capped at maxMs')

  const { Aedes } = await import('aedes')
  const broker = await Aedes.createBroker()
  const server = createServer(broker.handle).listen(port, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    await new Promise<void>((r) => broker.close(() => r()))
    await new Promise<void>((r) => server.close(() => r()))
  })
  await isConnected
  t.equal(link.client.options.reconnectPeriod, 20, 'a connection resets the period')

  // The dispatcher: wrong shapes are counted; a valid cancel reaches the jobs handler.
  const mqtt = (await import('mqtt')).default
  const ctl = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'link-ctl' })
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (link.invalidMessages >= 2 && jobs.length >= 1) {
        clearInterval(check)
        resolve()
      }
    }, 10)
    void (async () => {
      // subscriptions are in place once the link's SUBACK is back; publish until they land
      while (jobs.length === 0) {
        await ctl.publishAsync(topics.jobs('link-dev'), 'not json', { qos: 1 })
        await ctl.publishAsync(topics.acks('link-dev'), JSON.stringify({ v: PROTOCOL_VERSION, jobId: 'j', seqs: [] }), { qos: 1 })
        await ctl.publishAsync(topics.jobs('link-dev'), encodeMessage('jobs', { v: PROTOCOL_VERSION, type: 'cancel', jobId: 'job-9', time: new Date().toISOString() }), { qos: 1 })
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
  })
  t.ok(jobs.length >= 1 && jobs.every((j) => j === 'job-9'), 'the valid cancel reached the jobs handler')
  t.ok(link.invalidMessages >= 2)
  // Clients first: the server's close waits for every connection to end.
  await ctl.endAsync()
  await link.close()
})
