/**
 * `npx tsx agent/scripts/footprint.ts [--blocks N] [--threads N] [--settle S] [--window S] [--bin FILE]`
 *
 * The agent daemon's footprint as bench/profiling.ts sees it, without a controller: an embedded
 * aedes broker, one real agent process (agent/bin/fleetnas-agent.js), then
 *   1. idle: VmRSS of the agent process `--settle` s after it is online, CPU over `--window` s;
 *   2. one job of N seeded blocks of the default space (onnxruntime, default settings): wall time,
 *      blocks/min, the agent's and its children's peak RSS while measuring;
 *   3. idle again (`--settle` s after the job ended), RSS and CPU.
 * Load averages are printed: on a shared machine they explain slow or noisy figures.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import {
  createRng,
  decodeMessage,
  DEFAULT_MEASURE_SETTINGS,
  encodeMessage,
  PROTOCOL_VERSION,
  spaceBlockKeys,
  topics,
  type JobStateMessage,
} from '@fleetnas/shared'

const AGENT_BIN = fileURLToPath(new URL('../bin/fleetnas-agent.js', import.meta.url))
const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '200' },
    threads: { type: 'string', default: '1' },
    settle: { type: 'string', default: '20' },
    window: { type: 'string', default: '20' },
    bin: { type: 'string', default: AGENT_BIN },
  },
})
const blocks = Number(values.blocks)
const threads = Number(values.threads)
const settleMs = Number(values.settle) * 1000
const windowMs = Number(values.window) * 1000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const kb = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN)
const mb = (kib: number) => `${((kib * 1024) / 1e6).toFixed(1)} MB`
const CLK_TCK = 100

async function rssKiB(pid: number): Promise<number> {
  return kb(await readFile(`/proc/${pid}/status`, 'utf8'), 'VmRSS')
}
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(rest[11]) + Number(rest[12])
}
/** Direct children of `pid` (the measurement worker). */
async function childPids(pid: number): Promise<number[]> {
  const out: number[] = []
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')
    out.push(...text.split(' ').filter(Boolean).map(Number))
  }
  return out
}
async function idle(pid: number, label: string): Promise<void> {
  await sleep(settleMs)
  const c0 = await cpuTicks(pid)
  const t0 = performance.now()
  await sleep(windowMs)
  const cpu = (100 * (await cpuTicks(pid)) - 100 * c0) / CLK_TCK / ((performance.now() - t0) / 1000)
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kids = await childPids(pid)
  console.log(
    `${label}: VmRSS ${mb(kb(status, 'VmRSS'))} (RssAnon ${mb(kb(status, 'RssAnon'))}, RssFile ${mb(kb(status, 'RssFile'))}, peak ${mb(kb(status, 'VmHWM'))}), ` +
      `CPU ${cpu.toFixed(2)}% of one core over ${(windowMs / 1000).toFixed(0)} s; child processes: ${kids.length}`,
  )
}

const { Aedes } = await import('aedes')
const broker = await Aedes.createBroker()
const server = createServer(broker.handle)
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
const stateDir = await mkdtemp(join(tmpdir(), 'fleetnas-footprint-'))
const device = 'footprint-dev'
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`)

const ctl = await mqtt.connectAsync(url, { clientId: 'footprint-ctl', clean: true })
const states: JobStateMessage[] = []
let online = false
const changed = new EventTarget()
ctl.on('message', (topic, payload) => {
  if (topic === topics.status(device)) {
    const d = decodeMessage('status', payload)
    online = d.ok && d.value.state === 'online'
  } else if (topic.startsWith(`${topics.jobs(device)}/`)) {
    const d = decodeMessage('jobState', payload)
    if (d.ok) states.push(d.value)
  } else if (topic === topics.results(device)) {
    const d = decodeMessage('results', payload)
    if (d.ok) void ctl.publishAsync(topics.acks(device), encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: d.value.jobId, seqs: [d.value.seq] }), { qos: 1 })
  }
  changed.dispatchEvent(new Event('change'))
})
await ctl.subscribeAsync([topics.status(device), `${topics.jobs(device)}/+/state`, topics.results(device)], { qos: 1 })
const until = (check: () => boolean) =>
  new Promise<void>((resolve) => {
    const poll = () => {
      if (!check()) return
      changed.removeEventListener('change', poll)
      resolve()
    }
    changed.addEventListener('change', poll)
    poll()
  })

const args = ['--broker', url, '--state-dir', stateDir, '--device-id', device, '--threads', String(threads), '--hardware-profile', 'x86-64', '--log-level', 'warn']
const agent = spawn(process.execPath, [values.bin!, ...args], { stdio: ['ignore', 'inherit', 'inherit'] })
const pid = agent.pid!
try {
  const t0 = performance.now()
  await until(() => online)
  console.log(`agent (pid ${pid}) online after ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  await idle(pid, `idle after start (+${settleMs / 1000} s)`)

  if (blocks > 0) {
    const keys = createRng(1).shuffle(spaceBlockKeys()).slice(0, blocks)
    const jobId = `footprint-${Date.now()}`
    let peakAgent = 0
    let peakChildren = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peakAgent = Math.max(peakAgent, await rssKiB(pid).catch(() => 0))
        let sum = 0
        for (const c of await childPids(pid)) sum += await rssKiB(c).catch(() => 0)
        peakChildren = Math.max(peakChildren, sum)
        await sleep(500)
      }
    })()
    const load0 = loadavg()[0]
    const start = performance.now()
    await ctl.publishAsync(
      topics.jobs(device),
      encodeMessage('jobs', { v: PROTOCOL_VERSION, type: 'job', jobId, campaignId: 'footprint', runtime: 'onnxruntime', threads, blocks: keys, settings: DEFAULT_MEASURE_SETTINGS, time: new Date().toISOString() }),
      { qos: 1 },
    )
    await until(() => states.some((s) => s.jobId === jobId && ['SUCCEEDED', 'FAILED', 'CANCELED', 'REJECTED'].includes(s.state)))
    const wallMin = (performance.now() - start) / 60000
    sampling = false
    await sampler
    const end = states.find((s) => s.jobId === jobId && s.state !== 'IN_PROGRESS' && s.state !== 'ACCEPTED')!
    console.log(
      `job: ${end.state}${end.reason ? ` (${end.reason})` : ''}, ${blocks} blocks in ${(wallMin * 60).toFixed(1)} s = ${(blocks / wallMin).toFixed(0)} blocks/min at ${threads} thread(s); ` +
        `peak RSS while measuring: agent ${mb(peakAgent)}, its children ${mb(peakChildren)}; load average ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`,
    )
    await idle(pid, `idle after the job (+${settleMs / 1000} s)`)
  }
} finally {
  agent.kill('SIGTERM')
  await once(agent, 'exit')
  await ctl.endAsync()
  await new Promise<void>((r) => broker.close(() => r()))
  server.close()
  await rm(stateDir, { recursive: true, force: true })
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
}
