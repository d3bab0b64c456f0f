/**
 * `npm run bench:profiling`: how fast and how steady one agent profiles the default search space.
 *
 * Starts a controller (embedded broker, temp data dir, insecure) and one agent process on this
 * machine; measures the agent's idle RSS and CPU while connected; runs a campaign over the default
 * space's blocks (onnxruntime, default measurement settings) and a second one over the same blocks;
 * prints throughput, noise (cv), the noisy-flag count and repeatability beside their targets. Before
 * and after the campaigns it times a seeded few blocks alone (noise-floor.ts), so the cv figures
 * can be read against what single runs spread on this machine anyway.
 *
 *   npm run bench:profiling -- --sample 500        quick check on a seeded subset
 *   npm run bench:profiling -- --json out.json     full space, figures also written as JSON
 *
 * The figures are only as quiet as the machine: the load average at start and end is printed, and
 * anything else running (tests, builds) inflates cv and slows the run.
 */
import { writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { positiveInt } from './lib/cli-args.ts'
import { DEFAULT_MEASURE_SETTINGS, spaceBlockKeys } from '@fleetnas/shared'
import { runCampaign, type CampaignRun } from './lib/campaign-run.ts'
import { noiseBySize, noiseFigures, repeatability, median, type NoiseFigures, type RepeatabilityFigures, type SizeBand } from './lib/figures.ts'
import { fileVersions, renderVersions } from './lib/code-version.ts'
import { startBenchFleet } from './lib/fleet.ts'
import { loadAverage, machineInfo } from './lib/machine.ts'
import { measureNoiseFloor, type NoiseFloor } from './lib/noise-floor.ts'
import { idleUsage, type IdleUsage } from './lib/proc-usage.ts'
import { progressLine } from './lib/progress-line.ts'
import { readCampaignMeasurements, type CampaignMeasurements } from './lib/stored-measurements.ts'
import { atMost, mb, mins, pct, pct1, renderTargets, type TargetRow } from './lib/targets.ts'

const TARGET = { wholeSpaceMin: 30, medianCv: 0.03, shareOver5: 0.05, repeatability: 0.03, idleRssMB: 120, idleCpuPercent: 1 }
const CV_LIMIT = 0.05
const SETTLE_MS = 5_000
const FLOOR_BLOCKS = 24

interface Options {
  sample?: number
  seed: number
  threads: number
  skipRepeat: boolean
  json?: string
  idleWindow: number
  timeoutMin: number
}


function parseOptions(argv: string[]): Options {
  const cmd = new Command('bench:profiling')
    .description('profile the default search space with one local agent; print speed, noise and repeatability against targets')
    .option('--sample <n>', 'measure a seeded random subset of this many blocks', positiveInt)
    .option('--seed <n>', 'seed of the subset', positiveInt, 1)
    .option('--threads <n>', 'measuring threads', positiveInt, 1)
    .option('--skip-repeat', 'run one campaign only (no repeatability)', false)
    .option('--json <file>', 'also write the figures to this JSON file')
    .option('--idle-window <s>', 'seconds over which idle CPU is measured', positiveInt, 30)
    .option('--timeout-min <m>', 'give up on a campaign after this many minutes', positiveInt, 180)
  cmd.parse(argv)
  return cmd.opts<Options>()
}

interface CampaignFigures {
  run: CampaignRun
  noise: NoiseFigures
  bySize: SizeBand[]
  blocksPerMin: number
  /** Share of wall time spent in timed runs (the rest: building, sessions, warm-up, re-measures, reference). */
  timedShare: number
  referenceMedianMs: { first: number; last: number; min: number; max: number; count: number }
}

function campaignFigures(run: CampaignRun, stored: CampaignMeasurements): CampaignFigures {
  const refs = stored.references.map((r) => r.medianMs)
  return {
    run,
    noise: noiseFigures(stored.blocks, CV_LIMIT),
    bySize: noiseBySize(stored.blocks, CV_LIMIT),
    blocksPerMin: stored.blocks.length / (run.wallMs / 60_000),
    timedShare: stored.timedMs / run.wallMs,
    referenceMedianMs: { first: refs[0] ?? NaN, last: refs.at(-1) ?? NaN, min: Math.min(...refs), max: Math.max(...refs), count: refs.length },
  }
}

const bandLabel = (b: SizeBand) => (b.toMs === Infinity ? `>= ${b.fromMs} ms` : `${b.fromMs}-${b.toMs} ms`)

function printCampaign(label: string, f: CampaignFigures): void {
  const r = f.referenceMedianMs
  console.log(
    [
      `${label}: ${f.run.state} in ${mins(f.run.wallMs / 60_000)}, ${f.noise.blocks} blocks stored, ${f.blocksPerMin.toFixed(0)} blocks/min${f.run.reason ? ` (${f.run.reason})` : ''}`,
      `  cv: median ${pct(f.noise.medianCv)}, p90 ${pct(f.noise.p90Cv)}; above ${pct(CV_LIMIT)}: ${pct(f.noise.shareOverLimit)}; noisy flags: ${f.noise.noisyFlags}`,
      `  cv by gross block time: ${f.bySize.map((b) => `${bandLabel(b)}: ${b.blocks} blocks, median ${pct(b.medianCv)}, above ${pct(CV_LIMIT)} ${pct(b.shareOverLimit)}`).join('; ')}`,
      `  time in timed runs: ${pct(f.timedShare)} of wall (rest: model build, session create, warm-up, re-measures, reference, reporting)`,
      `  reference block (gross, overhead included): ${r.count} measurements, first ${r.first.toFixed(4)} ms, last ${r.last.toFixed(4)} ms, range ${r.min.toFixed(4)}-${r.max.toFixed(4)} ms`,
      `  agent while measuring: ${pct1(f.run.agentCpuPercent)} of one core, peak RSS ${mb(f.run.agentPeakRssMB)}`,
    ].join('\n'),
  )
}

async function noiseFloor(progress: ReturnType<typeof progressLine>, threads: number, when: string): Promise<NoiseFloor> {
  progress.update(`machine noise floor ${when}: timing ${FLOOR_BLOCKS} blocks alone ...`)
  const f = await measureNoiseFloor({ blocks: FLOOR_BLOCKS, threads, cvLimit: CV_LIMIT })
  progress.done()
  console.log(
    `machine noise floor ${when}: ${f.blocks} blocks each timed alone for ${f.msPerBlock} ms (single runs, no rounds): ` +
      `median cv ${pct(f.medianCv)}, above ${pct(CV_LIMIT)}: ${pct(f.shareOverLimit)}; a pure JavaScript loop: cv ${pct(f.jsLoopCv)}`,
  )
  return f
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv)
  const machine = machineInfo()
  const loadStart = loadAverage()
  const spaceBlocks = spaceBlockKeys().length
  const blocks = Math.min(opts.sample ?? spaceBlocks, spaceBlocks)
  console.log(`fleetnas bench:profiling  ${new Date().toISOString()}`)
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}`)
  console.log(`load average at start: ${loadStart.join(' ')}${loadStart[0] > machine.cores * 0.25 ? '  (other processes are running: cv and speed figures are inflated)' : ''}`)
  console.log(`blocks: ${blocks} of the default space's ${spaceBlocks}${opts.sample ? ` (seeded sample, seed ${opts.seed})` : ''}; onnxruntime, ${opts.threads} thread(s)`)
  console.log(`settings (defaults): ${JSON.stringify(DEFAULT_MEASURE_SETTINGS)}`)
  const code = fileVersions()
  console.log(`measuring code: ${renderVersions(code)}`)

  const fleet = await startBenchFleet({ threads: opts.threads })
  const stopOnSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the agent and the controller\n`)
    void fleet.stop().finally(() => process.exit(130))
  }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', stopOnSignal)
  try {
    const { agent, api, device } = fleet
    console.log(`agent: pid ${agent.pid}, device ${device.id}, hardware profile ${device.hardwareProfile}`)
    const progress = progressLine()

    // Idle while connected: after a settle so start-up work (module loading, inventory) is over.
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    progress.update(`agent idle: measuring RSS and CPU over ${opts.idleWindow} s ...`)
    const idleBefore = await idleUsage(agent.pid, opts.idleWindow * 1000)
    progress.done()
    console.log(`agent idle (connected, before campaigns): RSS ${mb(idleBefore.rssMB)} (peak ${mb(idleBefore.peakRssMB)}), CPU ${pct1(idleBefore.cpuPercent)} of one core over ${idleBefore.windowS.toFixed(0)} s`)

    // The machine's floor, in this process while the agent idles: what single runs spread here anyway.
    const floorBefore = await noiseFloor(progress, opts.threads, 'before the campaigns')

    const dbFile = fleet.controller.store.file
    const request = { deviceId: device.id, threads: opts.threads, sample: opts.sample, seed: opts.sample ? opts.seed : undefined }
    const timeoutMs = opts.timeoutMin * 60_000
    const run1 = await runCampaign(api, agent, { ...request, name: 'bench-1' }, progress, timeoutMs)
    const first = campaignFigures(run1, readCampaignMeasurements(dbFile, run1.id))
    printCampaign('campaign 1', first)
    console.log(`  settings stored with the campaign: ${JSON.stringify(run1.settings)}`)

    let second: CampaignFigures | undefined
    let repeat: RepeatabilityFigures | undefined
    if (!opts.skipRepeat) {
      const run2 = await runCampaign(api, agent, { ...request, name: 'bench-2' }, progress, timeoutMs)
      const stored2 = readCampaignMeasurements(dbFile, run2.id)
      second = campaignFigures(run2, stored2)
      printCampaign('campaign 2', second)
      repeat = repeatability(readCampaignMeasurements(dbFile, run1.id).blocks, stored2.blocks)
      console.log(
        `repeatability over ${repeat.common} blocks: median |a-b|/mean ${pct(repeat.medianRelDiff)} (p90 ${pct(repeat.p90RelDiff)}; ` +
          `gross, overhead included: ${pct(repeat.medianRelDiffGross)}; blocks over 10%: ${pct(repeat.shareOver10)})`,
      )
    }

    const floorAfter = await noiseFloor(progress, opts.threads, 'after the campaigns')
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    progress.update(`agent idle after the campaigns: measuring over ${opts.idleWindow} s ...`)
    const idleAfter: IdleUsage = await idleUsage(agent.pid, opts.idleWindow * 1000)
    progress.done()
    console.log(`agent idle (after campaigns): RSS ${mb(idleAfter.rssMB)} (peak ${mb(idleAfter.peakRssMB)}), CPU ${pct1(idleAfter.cpuPercent)} of one core over ${idleAfter.windowS.toFixed(0)} s`)

    const loadEnd = loadAverage()
    // Whole-space time: measured when the whole space ran, else projected from the sample's rate.
    const wholeMin = blocks === spaceBlocks ? run1.wallMs / 60_000 : spaceBlocks / first.blocksPerMin
    const cvMedians = [first.noise.medianCv, ...(second ? [second.noise.medianCv] : [])]
    const floorNote = (f: (n: NoiseFloor) => number) => `blocks timed alone: ${pct(f(floorBefore))} before, ${pct(f(floorAfter))} after`
    const rows: TargetRow[] = [
      atMost(`whole default space at ${opts.threads} thread(s)`, wholeMin, TARGET.wholeSpaceMin, mins, blocks === spaceBlocks ? 'measured, campaign 1' : `projected from ${blocks} blocks`),
      atMost('median cv (campaign 1)', first.noise.medianCv, TARGET.medianCv, pct, `${second ? `campaign 2: ${pct(second.noise.medianCv)}; ` : ''}${floorNote((n) => n.medianCv)}`),
      atMost(`blocks above ${pct(CV_LIMIT)} cv (campaign 1)`, first.noise.shareOverLimit, TARGET.shareOver5, pct, `${first.noise.noisyFlags} flagged noisy; ${floorNote((n) => n.shareOverLimit)}`),
      ...(repeat ? [atMost('repeatability (median rel. diff)', repeat.medianRelDiff, TARGET.repeatability, pct, `${repeat.common} blocks`)] : []),
      atMost('agent idle RSS', Math.max(idleBefore.rssMB, idleAfter.rssMB), TARGET.idleRssMB, mb, `before ${mb(idleBefore.rssMB)}, after ${mb(idleAfter.rssMB)}`),
      atMost('agent idle CPU (% of one core)', Math.max(idleBefore.cpuPercent, idleAfter.cpuPercent), TARGET.idleCpuPercent, pct1, `before ${pct1(idleBefore.cpuPercent)}, after ${pct1(idleAfter.cpuPercent)}`),
    ]
    console.log(`\nsummary: ${blocks} blocks, campaign 1 ${mins(run1.wallMs / 60_000)} at ${first.blocksPerMin.toFixed(0)} blocks/min`)
    console.log(renderTargets(rows))
    console.log(`load average: start ${loadStart.join(' ')}, end ${loadEnd.join(' ')} (${machine.cores} cores)${Math.max(loadStart[0], loadEnd[0]) > machine.cores * 0.25 ? ' -- other processes ran beside the benchmark: cv, repeatability and speed are worse than on a quiet machine' : ''}`)

    if (opts.json) {
      const report = {
        time: new Date().toISOString(),
        machine,
        loadAverage: { start: loadStart, end: loadEnd },
        options: opts,
        blocks,
        spaceBlocks,
        settings: run1.settings,
        code,
        wholeSpaceMin: wholeMin,
        campaigns: [first, ...(second ? [second] : [])],
        medianCvOfCampaigns: median(cvMedians),
        repeatability: repeat,
        idle: { before: idleBefore, after: idleAfter },
        noiseFloor: { before: floorBefore, after: floorAfter },
        targets: rows,
      }
      await writeFile(opts.json, `${JSON.stringify(report, null, 2)}\n`)
      console.log(`figures written to ${opts.json}`)
    }
    if (run1.state !== 'SUCCEEDED' || (second && second.run.state !== 'SUCCEEDED')) process.exitCode = 1
  } finally {
    await fleet.stop()
  }
}

main().catch((e) => {
  process.stderr.write(`bench:profiling failed: ${(e as Error).stack ?? e}\n`)
  process.exitCode = 1
})
