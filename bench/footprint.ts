/**
 * `npm run bench:footprint [-- --settle 20 --window 30 --json FILE]`: what the device bundle costs.
 *
 *   1. Bundles (npm run bundle:agent's code): linux-x64 and linux-arm64 with both runtimes, and
 *      linux-arm64 with ONNX Runtime alone: build time, packed size, size on disk once unpacked
 *      (du: what an install takes, installing is unpacking).
 *   2. This machine's bundle, as on a device: copy the tarball to a fresh folder, install it with
 *      deploy/install-agent.sh --bundle into a temporary root (no npm, npm_config_offline), start the
 *      installed agent and wait until a real controller (in this process, embedded broker) lists it
 *      online. Copy, install and start-up times, and the sum: copying the bundle to agent online.
 *   3. The installed agent idle: VmRSS and CPU of the daemon over --window s, --settle s after it
 *      came online (its measurement worker has exited by then).
 *   4. The same start-up and idle figures for the agent run from source (tsx), for comparison.
 * Load averages are printed: on a shared machine they explain slow figures.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import { buildBundle } from '../agent/bundle/build.ts'
import { AGENT_BIN, tempDir, waitOnline } from '../tests/helpers/fleet.ts'
import { idleUsage, type IdleUsage } from './lib/proc-usage.ts'
import { loadAverage, machineInfo } from './lib/machine.ts'

const run = promisify(execFile)
const REPO = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = path.join(REPO, 'deploy', 'install-agent.sh')
const { values: args } = parseArgs({ options: { settle: { type: 'string', default: '20' }, window: { type: 'string', default: '30' }, json: { type: 'string' } } })
const SETTLE_MS = Number(args.settle) * 1000
const WINDOW_MS = Number(args.window) * 1000
// Issue 14's targets.
const TARGETS = { arm64InstalledMB: 150, idleRssMB: 120, idleCpuPercent: 1, copyToOnlineS: 30 }

const mb = (bytes: number) => bytes / 1e6
const f1 = (v: number) => v.toFixed(1)
const seconds = (t0: number) => (performance.now() - t0) / 1000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Disk usage in bytes (du -sk: blocks really taken, as a small SD card sees them). */
async function du(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sk', dir])
  return Number(stdout.split('\t')[0]) * 1024
}

interface BundleFigures {
  target: string
  runtimes: string
  buildS: number
  packedMB: number
  onDiskMB: number
}

interface AgentFigures {
  how: string
  copyS?: number
  installS?: number
  startToOnlineS: number
  idle: IdleUsage
}

const work = await tempDir('fleetnas-footprint-')
const machine = machineInfo()
console.log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}; load average ${loadAverage().join(' ')}`)

// 1. Bundles.
const bundles: BundleFigures[] = []
let hostBundle = ''
const host = `${process.platform}-${process.arch}`
for (const [arch, runtimes] of [['x64', ['onnxruntime', 'tfjs']], ['arm64', ['onnxruntime', 'tfjs']], ['arm64', ['onnxruntime']]] as const) {
  const t0 = performance.now()
  const built = await buildBundle({ platform: 'linux', arch, runtimes: [...runtimes], repoDir: REPO, outDir: path.join(work.path, 'out') })
  const buildS = seconds(t0)
  const unpacked = path.join(work.path, `unpacked-${arch}-${runtimes.length}`)
  await mkdir(unpacked)
  await run('tar', ['-xzf', built.file, '-C', unpacked])
  bundles.push({ target: `linux-${arch}`, runtimes: runtimes.join(' + '), buildS, packedMB: mb(built.bytes), onDiskMB: mb(await du(unpacked)) })
  if (`linux-${arch}` === host && runtimes.length === 2) hostBundle = built.file
}

// 2-4. The agent on this machine.
const controller = await startController({ dataDir: path.join(work.path, 'controller'), httpPort: 0, mqttPort: 0, insecure: true, logLevel: 'warn' })
const api = new ApiClient({ api: controller.httpUrl })
const agents: ChildProcess[] = []

async function startAndIdle(id: string, bin: string, argv: string[]): Promise<{ startToOnlineS: number; idle: IdleUsage }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'ignore', 'inherit'] })
  agents.push(child)
  await waitOnline(api, [id], 60_000)
  const startToOnlineS = seconds(t0)
  await sleep(SETTLE_MS)
  return { startToOnlineS, idle: await idleUsage(child.pid!, WINDOW_MS) }
}

const agentFigures: AgentFigures[] = []
let installedMB = NaN
try {
  if (hostBundle) {
    const device = path.join(work.path, 'device')
    await mkdir(device)
    const tCopy = performance.now()
    const copied = path.join(device, path.basename(hostBundle))
    await copyFile(hostBundle, copied)
    const copyS = seconds(tCopy)
    const root = path.join(device, 'root')
    const tInstall = performance.now()
    await run('bash', [SCRIPT, '--bundle', copied, '--root', root, '--node', process.execPath, '--no-start', '--broker', controller.mqttUrl,
      '--device-id', 'footprint-bundle', '--hardware-profile', 'x86-64', '--threads', '1', '--log-level', 'warn', '--state-dir', path.join(root, 'var/lib/fleetnas')],
      { env: { ...process.env, npm_config_offline: 'true' } })
    const installS = seconds(tInstall)
    installedMB = mb(await du(path.join(root, 'opt/fleetnas')))
    const bin = path.join(root, 'opt/fleetnas/agent/bin/fleetnas-agent.js')
    const figures = await startAndIdle('footprint-bundle', bin, ['--config', path.join(root, 'etc/fleetnas/agent.json')])
    agentFigures.push({ how: `bundle (${path.basename(hostBundle)})`, copyS, installS, ...figures })
  } else console.log(`no bundle for this machine (${host}): install and start-up figures skipped`)

  const sourceFigures = await startAndIdle('footprint-source', AGENT_BIN, ['--broker', controller.mqttUrl, '--device-id', 'footprint-source',
    '--state-dir', path.join(work.path, 'source-state'), '--hardware-profile', 'x86-64', '--threads', '1', '--log-level', 'warn'])
  agentFigures.push({ how: 'from source (tsx)', ...sourceFigures })
} finally {
  for (const a of agents) a.kill('SIGTERM')
  await controller.stop()
}

console.log('\nbundles (npm run bundle:agent):')
console.log('| bundle | runtimes | packed | on disk, installed | build |')
console.log('| --- | --- | --- | --- | --- |')
for (const b of bundles) console.log(`| ${b.target} | ${b.runtimes} | ${f1(b.packedMB)} MB | ${f1(b.onDiskMB)} MB | ${f1(b.buildS)} s |`)

console.log(`\nthe agent on this machine (${host}; idle: ${args.settle} s after online, over ${args.window} s):`)
console.log('| agent | copy + install | start to online | copy to online | idle RSS (peak) | idle CPU |')
console.log('| --- | --- | --- | --- | --- | --- |')
for (const a of agentFigures) {
  const install = a.installS === undefined ? '-' : `${f1(a.copyS!)} s + ${f1(a.installS)} s`
  const total = a.installS === undefined ? '-' : `${f1(a.copyS! + a.installS + a.startToOnlineS)} s`
  console.log(`| ${a.how} | ${install} | ${f1(a.startToOnlineS)} s | ${total} | ${f1(a.idle.rssMB)} MB (${f1(a.idle.peakRssMB)}) | ${a.idle.cpuPercent.toFixed(2)}% |`)
}
if (!Number.isNaN(installedMB)) console.log(`installed under the prefix (du): ${f1(installedMB)} MB`)

const arm64 = bundles.find((b) => b.target === 'linux-arm64' && b.runtimes === 'onnxruntime + tfjs')!
const bundled = agentFigures.find((a) => a.installS !== undefined)
console.log(`\ntargets (issue 14): linux-arm64 installed ${f1(arm64.onDiskMB)} MB <= ${TARGETS.arm64InstalledMB} MB` +
  (bundled
    ? `; idle ${f1(bundled.idle.rssMB)} MB <= ${TARGETS.idleRssMB} MB RSS, ${bundled.idle.cpuPercent.toFixed(2)}% <= ${TARGETS.idleCpuPercent}% CPU` +
      `; copy to online ${f1(bundled.copyS! + bundled.installS! + bundled.startToOnlineS)} s < ${TARGETS.copyToOnlineS} s`
    : ''))
console.log(`load average at end: ${loadAverage().join(' ')}`)
if (args.json) await writeFile(args.json, JSON.stringify({ machine, bundles, agents: agentFigures, installedMB, load: loadAverage() }, null, 2))
await work.remove()
