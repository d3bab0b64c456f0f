/**
 * A child process of bench:fleet that plays many devices at once, driven over IPC (see
 * `SwarmCommand` / `SwarmReport`). Two modes:
 * - `agents`: simulated agents (controller/src/testing/fake-agent.ts) that register, go online and
 *   answer jobs with result batches; on `report` it returns every batch's publish-to-ack latency.
 * - `raw`: publishers that publish one results payload at QoS 1 in a loop for a fixed time, to
 *   measure what the broker alone carries (no controller; a sink subscribes).
 * Running the devices in their own processes keeps their CPU out of the controller's figures.
 */
import mqtt from 'mqtt'
import { encodeMessage, PROTOCOL_VERSION, topics } from '@fleetnas/shared'
import { fakeMeasurement, startFakeAgent, type FakeAgent } from '../../controller/src/testing/fake-agent.ts'

export type SwarmCommand =
  | { type: 'agents'; url: string; ids: string[]; batchSize: number; hardwareProfile: string; password?: string }
  | { type: 'raw'; url: string; publishers: number; batchSize: number; durationMs: number; idPrefix: string; password?: string }
  | { type: 'report' }
  | { type: 'stop' }

export type SwarmReport =
  | { type: 'online'; agents: number }
  | { type: 'report'; ackLatencyMs: number[]; unacked: number }
  | { type: 'raw-done'; published: number; elapsedMs: number }
  | { type: 'error'; message: string }

/** How many agents connect at once: a burst of thousands of CONNECTs is a test of its own. */
const CONNECT_WAVE = 100

/** A results message of `batchSize` block measurements, as the simulated agents send it. */
export function resultsPayload(deviceId: string, batchSize: number, seq = 0): string {
  const measurements = Array.from({ length: batchSize }, (_, i) => fakeMeasurement({}, `conv-k3-s1-i28x28x16-o28x28x${16 + i}-bn-relu`))
  return encodeMessage('results', { v: PROTOCOL_VERSION, deviceId, jobId: 'raw-job', seq, measurements })
}

/** On a broker with the per-device ACL a device logs in as itself. */
const credentials = (deviceId: string, password?: string) => (password === undefined ? {} : { username: deviceId, password })

const send = (r: SwarmReport) => process.send?.(r)
const agents: FakeAgent[] = []
const rawClients: mqtt.MqttClient[] = []

async function startAgents(c: Extract<SwarmCommand, { type: 'agents' }>): Promise<void> {
  for (let i = 0; i < c.ids.length; i += CONNECT_WAVE) {
    const wave = await Promise.all(
      c.ids.slice(i, i + CONNECT_WAVE).map((deviceId) => startFakeAgent({ url: c.url, deviceId, batchSize: c.batchSize, hardwareProfile: c.hardwareProfile, ...credentials(deviceId, c.password) })),
    )
    agents.push(...wave)
  }
  send({ type: 'online', agents: agents.length })
}

async function runRaw(c: Extract<SwarmCommand, { type: 'raw' }>): Promise<void> {
  for (let i = 0; i < c.publishers; i++) rawClients.push(await mqtt.connectAsync(c.url, { clientId: `${c.idPrefix}-${i}`, reconnectPeriod: 0, ...credentials(`${c.idPrefix}-${i}`, c.password) }))
  let published = 0
  const t0 = performance.now()
  const deadline = t0 + c.durationMs
  await Promise.all(
    rawClients.map(async (client, i) => {
      const deviceId = `${c.idPrefix}-${i}`
      const payload = resultsPayload(deviceId, c.batchSize)
      // One message in flight per publisher, like an agent waiting for its PUBACK.
      while (performance.now() < deadline) {
        await client.publishAsync(topics.results(deviceId), payload, { qos: 1 })
        published++
      }
    }),
  )
  send({ type: 'raw-done', published, elapsedMs: performance.now() - t0 })
}

async function stopAll(): Promise<void> {
  await Promise.all([...agents.map((a) => a.client.endAsync(true)), ...rawClients.map((c) => c.endAsync(true))])
  process.exit(0)
}

process.on('message', (c: SwarmCommand) => {
  const fail = (e: unknown) => send({ type: 'error', message: (e as Error).stack ?? String(e) })
  if (c.type === 'agents') startAgents(c).catch(fail)
  else if (c.type === 'raw') runRaw(c).catch(fail)
  else if (c.type === 'report')
    send({ type: 'report', ackLatencyMs: agents.flatMap((a) => a.ackLatencyMs), unacked: agents.reduce((s, a) => s + a.unacked(), 0) })
  else if (c.type === 'stop') stopAll().catch(() => process.exit(1))
})
process.on('disconnect', () => process.exit(0))
