/**
 * The controller's CPU per results batch without MQTT: the messages a fleet sends during a
 * bench:fleet campaign (ACCEPTED, then per round a results batch of every device and an IN_PROGRESS
 * of every device, then SUCCEEDED), fed in process through the dispatcher, the ingest queue, the
 * store (a SQLite file in a temporary folder) and the scheduler, ten messages per macrotask (about
 * one socket read's worth). Jobs and acks go to a publisher that keeps the jobs and drops the rest.
 * Prints the CPU per batch (the job state messages included), store transactions and the largest
 * JavaScript heap seen; with `--split`, the wall time of the main store calls.
 *
 *   npx tsx bench/lib/fleet-ingest-only.ts [devices=1000] [--split]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { encodeMessage, PROTOCOL_VERSION, topics, type JobMessage } from '@fleetnas/shared'
import { openStore } from '../../controller/src/store/db.ts'
import { Scheduler } from '../../controller/src/campaigns/scheduler.ts'
import { IngestQueue } from '../../controller/src/mqtt/ingest-queue.ts'
import { createDispatcher } from '../../controller/src/mqtt/dispatcher.ts'
import { fakeMeasurement } from '../../controller/src/testing/fake-agent.ts'

const args = process.argv.slice(2)
const DEVICES = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000)
const SPLIT = args.includes('--split')
const BLOCKS = 50
const BATCH = 25
const PER_TICK = 10
const PROFILE = 'bench-box'

const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetnas-ingest-only-'))
const store = openStore(dir)
try {
  const log = pino({ level: 'warn' })
  const now = () => new Date().toISOString()
  const jobs = new Map<string, JobMessage>()
  const publisher = {
    publish: async (topic: string, payload: string) => {
      if (topic.endsWith('/jobs')) jobs.set(topic.split('/').at(-2)!, JSON.parse(payload) as JobMessage)
    },
  }
  const scheduler = new Scheduler({ store, publisher, log, defaults: { executionTimeoutMs: 600_000, maxRetries: 3 }, intervalMs: 600_000 })
  const ingest = new IngestQueue({ store, scheduler, publisher, log, now })
  const dispatch = createDispatcher({ store, ingest, scheduler, publisher, log, now })
  const ids = Array.from({ length: DEVICES }, (_, i) => `fleet-${String(i + 1).padStart(5, '0')}`)
  const info = (id: string) =>
    encodeMessage('info', {
      v: PROTOCOL_VERSION,
      deviceId: id,
      hardwareProfile: PROFILE,
      inventory: { cpuModel: 'Fake CPU', cpuVendor: 'Fake', cores: 2, physicalCores: 2, maxFrequencyMHz: 2000, memoryBytes: 2 ** 30, os: 'linux', arch: 'x64', hostname: id, model: 'fake', gpus: [] },
      runtimes: [{ name: 'onnxruntime', version: '1.23.0', backends: ['cpu'] }],
      threads: 1,
      agentVersion: 'fake-1',
      time: now(),
    })
  for (const id of ids) {
    dispatch(topics.info(id), Buffer.from(info(id)), true)
    dispatch(topics.status(id), Buffer.from(encodeMessage('status', { v: PROTOCOL_VERSION, deviceId: id, state: 'online', agentVersion: 'fake-1', time: now() })), true)
  }
  scheduler.createCampaign({ name: 'ingest-only', searchSpace: 'default', sample: BLOCKS, seed: 1, runtimes: ['onnxruntime'], targets: { hardwareProfiles: [PROFILE] } })

  const state = (id: string, s: 'ACCEPTED' | 'IN_PROGRESS' | 'SUCCEEDED', done?: number): [string, Buffer] => {
    const j = jobs.get(id)!
    const progress = done === undefined ? {} : { progress: { done, total: j.blocks.length } }
    return [topics.jobState(id, j.jobId), Buffer.from(encodeMessage('jobState', { v: PROTOCOL_VERSION, deviceId: id, jobId: j.jobId, state: s, ...progress, time: now() }))]
  }
  const messages: [string, Buffer][] = ids.map((id) => state(id, 'ACCEPTED'))
  for (let round = 0; round < BLOCKS / BATCH; round++) {
    for (const id of ids) {
      const j = jobs.get(id)!
      const measurements = j.blocks.slice(round * BATCH, (round + 1) * BATCH).map((k) => fakeMeasurement({}, k))
      messages.push([topics.results(id), Buffer.from(encodeMessage('results', { v: PROTOCOL_VERSION, deviceId: id, jobId: j.jobId, seq: round, measurements }))])
    }
    for (const id of ids) messages.push(state(id, 'IN_PROGRESS', (round + 1) * BATCH))
  }
  for (const id of ids) messages.push(state(id, 'SUCCEEDED'))

  const spent = new Map<string, number>()
  const time = (o: object, name: string) => {
    const target = o as Record<string, (...a: unknown[]) => unknown>
    const f = target[name].bind(o)
    target[name] = (...a) => {
      const t = performance.now()
      try {
        return f(...a)
      } finally {
        spent.set(name, (spent.get(name) ?? 0) + performance.now() - t)
      }
    }
  }
  if (SPLIT) {
    time(store.measurements, 'insertBatch')
    time(store, 'writeTransaction')
    time(scheduler, 'onJobState')
    time(scheduler, 'onResultsStored')
    time(store.campaigns, 'jobOwner')
  }

  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let peakHeap = 0
  let i = 0
  await new Promise<void>((resolve) => {
    const step = () => {
      for (let k = 0; k < PER_TICK && i < messages.length; k++, i++) dispatch(messages[i][0], messages[i][1])
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
      if (i < messages.length) setImmediate(step)
      else setImmediate(() => setImmediate(resolve))
    }
    step()
  })
  ingest.stop()
  const cpu = process.cpuUsage(cpu0)
  const cpuMs = (cpu.user + cpu.system) / 1000
  const batches = DEVICES * (BLOCKS / BATCH)
  const campaign = store.campaigns.list()[0]
  console.log(
    `${DEVICES} devices, ${batches} batches of ${BATCH} and ${DEVICES * (2 + BLOCKS / BATCH)} job states: ${cpuMs.toFixed(0)} ms CPU, ` +
      `${((1000 * cpuMs) / batches).toFixed(0)} µs per batch; wall ${(performance.now() - t0).toFixed(0)} ms; ` +
      `${ingest.figures().transactions} ingest transactions; stored ${store.measurements.count()} measurements, campaign ${campaign.state}; ` +
      `JS heap at most ${(peakHeap / 1e6).toFixed(0)} MB; load ${os.loadavg()[0].toFixed(1)}`,
  )
  if (SPLIT) console.log([...spent].map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', '))
} finally {
  store.close()
  rmSync(dir, { recursive: true, force: true })
}
