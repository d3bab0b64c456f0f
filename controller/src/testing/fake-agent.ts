/**
 * A tiny agent for controller tests, speaking the shared protocol over mqtt.js: retained info and
 * status (with a Last Will), answers jobs (blocks and architectures) with ACCEPTED, result batches and SUCCEEDED, records acks
 * and cancels. Behaviour hooks let a test drop or hold jobs.
 */
import mqtt, { type MqttClient } from 'mqtt'
import {
  agentSubscriptions,
  decodeMessage,
  DEFAULT_SPACE,
  emptyKey,
  encodeMessage,
  PROTOCOL_VERSION,
  topics,
  type AckMessage,
  type CancelMessage,
  type JobMessage,
  type Measurement,
} from '@fleetnas/shared'

export interface FakeAgentOptions {
  url: string
  deviceId: string
  hardwareProfile?: string
  threads?: number
  username?: string
  password?: string
  /** Latency the agent "measures" for a block or an architecture id (net of the call overhead). */
  latencyMs?: (key: string) => number
  /** When set: every batch starts with the empty graph of the space input, and this overhead is reported with each target. */
  overheadMs?: number
  /** The sensors' reading reported with each measurement (temperature, frequency, throttling). */
  environment?: (key: string) => Pick<Measurement, 'before' | 'after'>
  /** Blocks per results batch. */
  batchSize?: number
  /** What to do with a job: 'run' (default), 'ignore' (say nothing), 'hold' (accept, then wait). */
  onJob?: (job: JobMessage, nth: number) => 'run' | 'ignore' | 'hold'
}

export interface FakeAgent {
  client: MqttClient
  jobs: JobMessage[]
  cancels: CancelMessage[]
  acks: AckMessage[]
  /** Milliseconds from publishing each results batch to its first ack, in ack order (load benchmarks). */
  ackLatencyMs: number[]
  /** Results batches published and not acked yet. */
  unacked(): number
  /** Publishes a raw payload on one of this device's topics. */
  publishRaw(topic: string, payload: string): Promise<void>
  measurement(key: string, threads?: number, runtime?: 'onnxruntime' | 'tfjs', kind?: Measurement['kind']): Measurement
  /** Graceful: says offline, then disconnects. */
  stop(): Promise<void>
  /** Drops the connection without a word (the broker publishes the Last Will). */
  crash(): void
}

const now = () => new Date().toISOString()

/** What a fake agent reports for one target (also the payload of broker-only load tests). */
export function fakeMeasurement(
  o: Pick<FakeAgentOptions, 'latencyMs' | 'overheadMs' | 'environment'>,
  key: string,
  threads = 1,
  runtime: 'onnxruntime' | 'tfjs' = 'onnxruntime',
  kind: Measurement['kind'] = 'block',
): Measurement {
  const ms = kind === 'empty' ? (o.overheadMs ?? 0.005) : (o.latencyMs?.(key) ?? 1)
  return {
    key,
    kind,
    runtime,
    backend: runtime === 'tfjs' ? 'wasm' : 'cpu',
    threads,
    medianMs: ms,
    p10Ms: ms * 0.9,
    p90Ms: ms * 1.1,
    meanMs: ms,
    stdMs: ms * 0.02,
    cv: 0.02,
    samples: 20,
    rounds: 3,
    noisy: false,
    ...(o.overheadMs !== undefined && kind !== 'empty' && { overheadMs: o.overheadMs }),
    ...o.environment?.(key),
    time: now(),
  }
}

export async function startFakeAgent(o: FakeAgentOptions): Promise<FakeAgent> {
  const { deviceId } = o
  /** `${jobId} ${seq}` -> when the batch was published. */
  const sentAt = new Map<string, number>()
  const offline = encodeMessage('status', { v: PROTOCOL_VERSION, deviceId, state: 'offline', agentVersion: 'fake-1', time: now() })
  const client = await mqtt.connectAsync(o.url, {
    clientId: `fake-agent-${deviceId}`,
    username: o.username,
    password: o.password,
    reconnectPeriod: 0,
    will: { topic: topics.status(deviceId), payload: Buffer.from(offline), qos: 1, retain: true },
  })
  const agent: FakeAgent = {
    client,
    jobs: [],
    cancels: [],
    acks: [],
    ackLatencyMs: [],
    unacked: () => sentAt.size,
    publishRaw: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1 })
    },
    measurement: (key, threads = o.threads ?? 1, runtime = 'onnxruntime', kind = 'block') => fakeMeasurement(o, key, threads, runtime, kind),
    stop: async () => {
      if (client.connected) await client.publishAsync(topics.status(deviceId), offline, { qos: 1, retain: true })
      await client.endAsync()
    },
    crash: () => {
      client.options.reconnectPeriod = 0
      client.stream.destroy()
      client.end(true)
    },
  }

  let seq = 0
  const run = async (job: JobMessage) => {
    const state = (s: 'ACCEPTED' | 'IN_PROGRESS' | 'SUCCEEDED', done?: number) =>
      client.publishAsync(
        topics.jobState(deviceId, job.jobId),
        encodeMessage('jobState', {
          v: PROTOCOL_VERSION,
          deviceId,
          jobId: job.jobId,
          state: s,
          ...(done !== undefined && { progress: { done, total: job.blocks.length + (job.architectures?.length ?? 0) } }),
          time: now(),
        }),
        { qos: 1 },
      )
    await state('ACCEPTED')
    const skip = new Set(job.skip ?? [])
    const todo = [
      ...job.blocks.filter((k) => !skip.has(k)).map((key) => ({ key, kind: 'block' as const })),
      ...(job.architectures ?? []).filter((k) => !skip.has(k)).map((key) => ({ key, kind: 'architecture' as const })),
    ]
    const size = o.batchSize ?? 10
    for (let i = 0; i < todo.length; i += size) {
      const measurements = todo.slice(i, i + size).map((t) => agent.measurement(t.key, job.threads, job.runtime, t.kind))
      if (o.overheadMs !== undefined) measurements.unshift(agent.measurement(emptyKey(DEFAULT_SPACE.input), job.threads, job.runtime, 'empty'))
      const batchSeq = seq++
      sentAt.set(`${job.jobId} ${batchSeq}`, performance.now())
      await client.publishAsync(topics.results(deviceId), encodeMessage('results', { v: PROTOCOL_VERSION, deviceId, jobId: job.jobId, seq: batchSeq, measurements }), { qos: 1 })
      await state('IN_PROGRESS', skip.size + Math.min(todo.length, i + size))
    }
    await state('SUCCEEDED')
  }

  client.on('message', (topic, payload) => {
    if (topic === topics.acks(deviceId)) {
      const ack = decodeMessage('acks', payload)
      if (!ack.ok) return
      agent.acks.push(ack.value)
      const at = performance.now()
      for (const s of ack.value.seqs) {
        const sent = sentAt.get(`${ack.value.jobId} ${s}`)
        if (sent === undefined) continue
        sentAt.delete(`${ack.value.jobId} ${s}`)
        agent.ackLatencyMs.push(at - sent)
      }
      return
    }
    const cmd = decodeMessage('jobs', payload)
    if (!cmd.ok) throw new Error(`fake agent got a bad job: ${cmd.reason}`)
    if (cmd.value.type === 'cancel') return void agent.cancels.push(cmd.value)
    const job = cmd.value
    agent.jobs.push(job)
    const what = o.onJob?.(job, agent.jobs.length) ?? 'run'
    if (what === 'run') run(job).catch(() => {}) // a test may stop the agent mid-job
    else if (what === 'hold')
      void client.publishAsync(
        topics.jobState(deviceId, job.jobId),
        encodeMessage('jobState', { v: PROTOCOL_VERSION, deviceId, jobId: job.jobId, state: 'ACCEPTED', time: now() }),
        { qos: 1 },
      )
  })
  await client.subscribeAsync(agentSubscriptions(deviceId), { qos: 1 })
  await client.publishAsync(
    topics.info(deviceId),
    encodeMessage('info', {
      v: PROTOCOL_VERSION,
      deviceId,
      hardwareProfile: o.hardwareProfile ?? 'test-box',
      inventory: {
        cpuModel: 'Fake CPU',
        cpuVendor: 'Fake',
        cores: 2,
        physicalCores: 2,
        maxFrequencyMHz: 2000,
        memoryBytes: 2 ** 30,
        os: 'linux',
        arch: 'x64',
        hostname: deviceId,
        model: 'fake',
        gpus: [],
      },
      runtimes: [{ name: 'onnxruntime', version: '1.23.0', backends: ['cpu'] }],
      threads: o.threads ?? 1,
      agentVersion: 'fake-1',
      time: now(),
    }),
    { qos: 1, retain: true },
  )
  await client.publishAsync(
    topics.status(deviceId),
    encodeMessage('status', { v: PROTOCOL_VERSION, deviceId, state: 'online', agentVersion: 'fake-1', time: now() }),
    { qos: 1, retain: true },
  )
  return agent
}
