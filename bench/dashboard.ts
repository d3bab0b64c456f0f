/**
 * `npm run bench:dashboard`: first paint of every dashboard page with a large generated store.
 *
 * A controller (in this process, token auth, temp data dir) is filled straight through its store
 * with 1,000 devices (half online, five hardware profiles) and 20,000 LUT block entries (every key
 * of the default space, 15,934, in one LUT; 4,066 in a second, so the ratio view compares them),
 * plus 10 campaigns over 20 devices each. Then headless Chromium (Debian's, via playwright-core)
 * opens each page in a fresh browser context (cold cache, token already in localStorage) and
 * records, per page:
 *   - FCP: the browser's first-contentful-paint (the shell: header and navigation);
 *   - content: when the page's data is on screen (its data-ready marker, read at the first
 *     animation frame it exists: rows drawn, heatmap rendered), from navigation start.
 * Median of --runs (3) per page; target: content under 1 s on every page.
 *
 *   npm run bench:dashboard [-- --runs 5 --json FILE]
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { blockMacs, DEFAULT_MEASURE_SETTINGS, spaceBlocks, type InfoMessage } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { DASHBOARD_DIST } from '../controller/src/dashboard/plugin.ts'
import { findChromium, launchChromium, NO_CHROMIUM } from '../tests/helpers/browser.ts'
import { tempDir } from '../tests/helpers/fleet.ts'
import { loadAverage, machineInfo } from './lib/machine.ts'
import { median } from './lib/figures.ts'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, json: { type: 'string' } } })
const RUNS = Number(args.runs)
const DEVICES = 1000
const LUT_ENTRIES = 20_000
const TARGET_MS = 1000
const TOKEN = 'bench-dashboard-token-0123'
const PROFILES = ['raspberry-pi-4b', 'raspberry-pi-5', 'jetson-orin-nano', 'x86-64', 'generic']

const chromiumPath = findChromium()
if (!chromiumPath) {
  console.error(`bench:dashboard: ${NO_CHROMIUM}`)
  process.exit(2)
}
if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) {
  console.error('bench:dashboard: the dashboard is not built; run npm run build first')
  process.exit(2)
}

/** A deterministic pseudo-random stream, so every run has the same store. */
function lcg(seed: number) {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}

const dir = await tempDir('fleetnas-bench-dashboard-')
const controller = await startController({ dataDir: dir.path, httpPort: 0, mqttPort: 0, apiToken: TOKEN, logLevel: 'error' }, { env: {} })
const { store } = controller
const rand = lcg(42)
const t0 = performance.now()

// ---- 1,000 devices ----
const now = new Date().toISOString()
for (let i = 0; i < DEVICES; i++) {
  const id = `dev-${String(i).padStart(4, '0')}`
  const profile = PROFILES[i % PROFILES.length]
  const info: InfoMessage = {
    v: 1,
    deviceId: id,
    hardwareProfile: profile,
    threads: profile.startsWith('raspberry') ? 4 : 2,
    agentVersion: '0.1.0',
    time: now,
    inventory: {
      cpuModel: profile.startsWith('raspberry') ? 'Cortex-A72' : profile.startsWith('jetson') ? 'Cortex-A78AE' : 'Intel Xeon',
      cpuVendor: 'ARM',
      cores: 4,
      physicalCores: 4,
      maxFrequencyMHz: 1800,
      memoryBytes: 4 * 2 ** 30,
      os: 'Linux',
      arch: profile.startsWith('x86') ? 'x64' : 'arm64',
      hostname: id,
      model: profile,
      gpus: [],
      temperatureC: 40 + rand() * 30,
    },
    runtimes: [{ name: 'onnxruntime', version: '1.23.0', backends: ['cpu'] }],
  }
  store.devices.recordInfo(info, now)
  store.devices.recordStatus(id, i % 2 === 0 ? 'online' : 'offline', '0.1.0', now)
}

// ---- 20,000 LUT entries: the whole default space on one LUT, the rest on another ----
const blocks = [...spaceBlocks().entries()]
const luts = [
  { scope: { hardwareProfile: 'raspberry-pi-4b', runtime: 'onnxruntime', threads: 4, backend: 'cpu' }, n: blocks.length, nsPerMac: 0.9 },
  { scope: { hardwareProfile: 'x86-64', runtime: 'onnxruntime', threads: 4, backend: 'cpu' }, n: LUT_ENTRIES - blocks.length, nsPerMac: 0.25 },
]
store.transaction(() => {
  for (const lut of luts)
    for (const [key, block] of blocks.slice(0, lut.n)) {
      const medianMs = (blockMacs(block) * lut.nsPerMac) / 1e6 + 0.002 + rand() * 0.002
      const spread = 0.03 + rand() * 0.1
      store.luts.upsert(
        lut.scope,
        'block',
        key,
        {
          medianMs,
          p10Ms: medianMs * (1 - spread),
          p90Ms: medianMs * (1 + spread),
          cv: spread / 2,
          samples: 60,
          devices: 1 + Math.floor(rand() * 4),
          spreadMs: medianMs * spread,
          noisy: rand() < 0.02,
          ciLowMs: medianMs * (1 - spread / 4),
          ciHighMs: medianMs * (1 + spread / 4),
          overheadMs: 0.005,
          belowOverhead: false,
        },
        now,
      )
    }
})

// ---- 10 campaigns over 20 devices each (they stay queued: the devices are not real) ----
const campaignIds: string[] = []
for (let i = 0; i < 10; i++) {
  const devices = Array.from({ length: 20 }, (_, j) => `dev-${String((i * 20 + j) * 2 + 1).padStart(4, '0')}`) // offline ones: no jobs go out
  campaignIds.push(controller.scheduler.createCampaign({ name: `bench-${i}`, searchSpace: 'default', sample: 200, seed: i, targets: { devices }, settings: DEFAULT_MEASURE_SETTINGS }).id)
}
const fillMs = performance.now() - t0
const entries = store.luts.summaries().reduce((s, l) => s + l.entries, 0)

// ---- the pages ----
const PAGES: { name: string; hash: string; ready: string }[] = [
  { name: 'Fleet (1,000 devices)', hash: '#/fleet', ready: '[data-ready="fleet"] tr[data-device]' },
  { name: 'Device', hash: '#/devices/dev-0000', ready: '[data-ready="device"]' },
  { name: 'Campaigns (10 x 20 executions)', hash: '#/campaigns', ready: '[data-ready="campaigns"] tbody tr' },
  { name: 'Campaign detail', hash: `#/campaigns/${campaignIds[0]}`, ready: '[data-ready="campaign"] tr[data-execution]' },
  { name: 'LUT list', hash: '#/luts', ready: '[data-ready="luts"] table.luts tbody tr' },
  { name: `LUT heatmap (${blocks.length.toLocaleString('en')} entries)`, hash: '#/luts/raspberry-pi-4b/onnxruntime/4', ready: '[data-ready="heatmap"] svg' },
  {
    name: 'LUT ratio (15,934 vs 4,066)',
    hash: '#/luts/raspberry-pi-4b/onnxruntime/4?vs=x86-64/onnxruntime/4',
    ready: '[data-ready="ratio"] svg',
  },
  { name: 'Latency model', hash: '#/model?lut=raspberry-pi-4b/onnxruntime/4', ready: '[data-ready="model"]' },
  { name: 'Architectures', hash: '#/architectures', ready: '[data-ready="architectures"]' },
]

const browser = await launchChromium(chromiumPath)
const results: { page: string; fcpMs: number; contentMs: number; runs: number[] }[] = []
const errors: string[] = []
try {
  for (const p of PAGES) {
    const fcps: number[] = []
    const contents: number[] = []
    for (let r = 0; r < RUNS; r++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
      await context.addInitScript((token) => localStorage.setItem('fleetnas.token', token), TOKEN)
      const page = await context.newPage()
      page.on('pageerror', (e) => errors.push(`${p.name}: ${e.message}`))
      page.on('console', (m) => m.type() === 'error' && errors.push(`${p.name}: ${m.text()}`))
      await page.goto(`${controller.httpUrl}/${p.hash}`, { waitUntil: 'commit' })
      // The first animation frame at which the content exists: its paint follows in that frame.
      const contentMs = (await (
        await page.waitForFunction((sel) => (document.querySelector(sel) ? performance.now() : false), p.ready, { polling: 'raf', timeout: 30_000 })
      ).jsonValue()) as number
      // FCP is reported after its frame: wait for the entry (buffered) rather than read it too early.
      const fcpMs = await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            new PerformanceObserver((list) => resolve(list.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN)).observe({ type: 'paint', buffered: true })
            setTimeout(() => resolve(NaN), 3000)
          }),
      )
      fcps.push(fcpMs)
      contents.push(contentMs)
      await context.close()
    }
    const painted = fcps.filter(Number.isFinite) // headless Chromium does not always report an FCP entry
    results.push({ page: p.name, fcpMs: painted.length ? median(painted) : NaN, contentMs: median(contents), runs: contents })
    process.stderr.write(`  ${p.name}: ${Math.round(median(contents))} ms\n`)
  }
} finally {
  await browser.close()
  await controller.stop()
  await dir.remove()
}

const m = machineInfo()
const pad = (s: string, n: number) => s.padEnd(n)
console.log(`\nbench:dashboard  ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, load ${loadAverage().join(' ')}`)
console.log(`store: ${DEVICES.toLocaleString('en')} devices, ${entries.toLocaleString('en')} LUT entries in ${luts.length} LUTs, ${campaignIds.length} campaigns (filled in ${(fillMs / 1000).toFixed(1)} s)`)
console.log(`cold browser context per run, median of ${RUNS}; content = the page's data on screen, from navigation start\n`)
console.log(`| ${pad('page', 36)} | FCP ms | content ms | under ${TARGET_MS} ms |`)
console.log(`| ${'-'.repeat(36)} | ------ | ---------- | ----------- |`)
for (const r of results) console.log(`| ${pad(r.page, 36)} | ${(Number.isFinite(r.fcpMs) ? String(Math.round(r.fcpMs)) : '–').padStart(6)} | ${String(Math.round(r.contentMs)).padStart(10)} | ${r.contentMs < TARGET_MS ? 'yes' : 'NO'} ${' '.repeat(8)}|`)
if (errors.length) console.log(`\nconsole errors:\n  ${errors.join('\n  ')}`)
if (args.json) writeFileSync(args.json, JSON.stringify({ machine: m, devices: DEVICES, entries, runs: RUNS, results, errors }, null, 2))
process.exitCode = errors.length || results.some((r) => r.contentMs >= TARGET_MS) ? 1 : 0
