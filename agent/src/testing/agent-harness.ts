/**
 * Test harness for the agent (used by *.test.ts only): an embedded aedes broker on a free port, a
 * fake controller client speaking the shared protocol, event-driven waiting, temp dirs.
 */
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import {
  decodeMessage,
  DEFAULT_MEASURE_SETTINGS,
  encodeMessage,
  parseTopic,
  PROTOCOL_VERSION,
  TOPIC_ROOT,
  topics,
  type Inventory,
  type JobMessage,
  type JobStateMessage,
  type ResultsMessage,
  type StatusMessage,
} from '@fleetnas/shared'
import type { RunningAgent } from '../agent.ts'

export const BLOCKS = [
  'conv-k3-s1-i7x7x8-o7x7x8-bn-relu',
  'conv-k3-s1-i7x7x8-o7x7x16-bn-relu',
  'dwsep-k3-s1-i7x7x8-o7x7x8-bn-relu',
  'mbconv-e2-k3-s1-i7x7x8-o7x7x8-bn-relu-res',
  'head-gap-fc-i7x7x8-o5',
]
export const FAST = { ...DEFAULT_MEASURE_SETTINGS, warmupRuns: 2, warmupMs: 2, minRuns: 10, minTimeMs: 6, maxRuns: 500, rounds: 2, maxCv: 1, referenceEvery: 0 }
export const inventory: Inventory = { cpuModel: 'Test CPU', cpuVendor: 'Test', cores: 2, physicalCores: 2, maxFrequencyMHz: 0, memoryBytes: 1e9, os: 'test', arch: 'x64', hostname: 'test', model: 'test', gpus: [] }

export const job = (jobId: string, blocks = BLOCKS, extra: Partial<JobMessage> = {}): JobMessage => ({
  v: PROTOCOL_VERSION, type: 'job', jobId, campaignId: 'camp-1', runtime: 'onnxruntime', threads: 1, blocks, settings: FAST, time: new Date().toISOString(), ...extra,
})

/** An aedes broker on a free loopback port; close() when done. */
export async function startBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const { Aedes } = await import('aedes')
  const broker = await Aedes.createBroker()
  const server = createServer(broker.handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()))
      await new Promise((r) => server.close(r))
    },
  }
}

export type FakeController = Awaited<ReturnType<typeof fakeController>>

/** The fake controller: records what the device publishes, acks results when told to. */
export async function fakeController(url: string, deviceId: string, autoAck: boolean) {
  const client = await mqtt.connectAsync(url, { clientId: `ctl-${Math.random().toString(16).slice(2)}`, clean: true })
  const states: JobStateMessage[] = []
  const results: ResultsMessage[] = []
  const statuses: StatusMessage[] = []
  let info: unknown
  client.on('message', (topic, payload) => {
    const p = parseTopic(topic)
    if (!p) return
    if (p.kind === 'jobState') {
      const d = decodeMessage('jobState', payload)
      if (d.ok) states.push(d.value)
    } else if (p.kind === 'results') {
      const d = decodeMessage('results', payload)
      if (!d.ok) throw new Error(d.reason)
      results.push(d.value)
      if (autoAck) client.publish(topics.acks(deviceId), encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: d.value.jobId, seqs: [d.value.seq] }), { qos: 1 })
    } else if (p.kind === 'status') {
      const d = decodeMessage('status', payload)
      if (d.ok) statuses.push(d.value)
    } else if (p.kind === 'info') {
      const d = decodeMessage('info', payload)
      if (d.ok) info = d.value
    }
  })
  await client.subscribeAsync([`${TOPIC_ROOT}/devices/+/status`, `${TOPIC_ROOT}/devices/+/info`, `${TOPIC_ROOT}/devices/+/jobs/+/state`, `${TOPIC_ROOT}/devices/+/results`], { qos: 1 })
  const send = (payload: string) => client.publishAsync(topics.jobs(deviceId), payload, { qos: 1 })
  return { client, states, results, statuses, info: () => info, send }
}

const AGENT_EVENTS = ['connected', 'disconnected', 'job-state', 'measurement', 'results-published', 'results-acked', 'invalid-message', 'worker'] as const

/**
 * Resolves when `check()` holds, re-checking on every agent event and every message the controller
 * receives (no fixed sleeps). Without an agent (a separate process), only controller messages count.
 */
export function until(agent: RunningAgent | undefined, ctl: { client: mqtt.MqttClient }, check: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs)
    const poll = () => {
      if (check()) done()
    }
    const done = (err?: Error) => {
      clearTimeout(timer)
      for (const e of AGENT_EVENTS) agent?.events.off(e, poll)
      ctl.client.off('message', poll)
      err ? reject(err) : resolve()
    }
    for (const e of AGENT_EVENTS) agent?.events.on(e, poll)
    // After the recording listener (registered first), so the message is already recorded.
    ctl.client.on('message', poll)
    poll()
  })
}

/** A temp dir removed at the end of the test. */
export async function tmp(t: { teardown(f: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-agent-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}
