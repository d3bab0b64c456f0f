/**
 * `npm run bench:latency`: how well a LUT's latency model predicts whole architectures on this
 * machine, beside how well the machine can measure them at all.
 *
 * One controller and one agent process. Per thread count (onnxruntime; 1 and 2 by default):
 *   1. one campaign measures, interleaved in the agent's shuffled windows (so that all of it sees
 *      the same machine): the blocks of the calibration seed's N architectures (random, compact and
 *      uniform networks interleaved: shared/src/space/calibration.ts), of H held-out random
 *      architectures from another seed, of K held-out compact ones (every block downsampling while
 *      it can: the small networks searches answer with) and of the Conv4 family (widths 64, 32,
 *      16); the first C of the N architectures whole (the calibration set); the held-out ones and
 *      the Conv4 family whole (the truth);
 *   2. a second campaign measures the held-out ones and the Conv4 family whole again: against the
 *      first, the remeasure floor (how far the machine agrees with itself);
 *   3. the model is fitted with the product's own code (latency/lut-data.ts, fit.ts) on the
 *      calibration set alone; it never sees a held-out measurement;
 *   4. print, per LUT: share within +-10% and +-5%, MAPE, Kendall tau, for the fitted model, the
 *      bare block sum and the floor, on the random and (apart) the compact held-out architectures;
 *      Conv4's predicted and measured latency; the profiling cost (blocks, and calibration at the
 *      per-architecture time of the second campaign).
 *
 *   npm run bench:latency                               the full run (about 10 min here)
 *   npm run bench:latency -- --threads 1 --archs 100 --held-out 50 --calibration 60   a quick look
 *   npm run bench:latency -- --json out.json            figures, predictions and LUTs as JSON
 */
import { writeFile } from 'node:fs/promises'
import { Command, InvalidArgumentError } from 'commander'
import { positiveInt, positiveInts } from './lib/cli-args.ts'
import {
  architectureBlocks,
  architectureId,
  blockKey,
  calibrationArchitectures,
  conv4Family,
  createRng,
  DEFAULT_SPACE,
  sampleArchitectures,
  sampleCompactArchitecture,
  type Architecture,
  type BlockSpec,
} from '@fleetnas/shared'
import { agreement, type Agreement } from '../controller/src/latency/fit-stats.ts'
import type { LutView } from '../controller/src/cli/api-types.ts'
import { fitLatencyModel, type LatencyModel } from '../controller/src/latency/fit.ts'
import { calibrationPoints, lutData } from '../controller/src/latency/lut-data.ts'
import { predictWith } from '../controller/src/latency/service.ts'
import { runCampaign, type CampaignRun } from './lib/campaign-run.ts'
import { startBenchFleet } from './lib/fleet.ts'
import { loadAverage, machineInfo } from './lib/machine.ts'
import { progressLine } from './lib/progress-line.ts'
import { readArchitectureLatencies } from './lib/stored-measurements.ts'
import { atMost, mins, pct, renderTargets, type TargetRow } from './lib/targets.ts'

const TARGET_1T = { within10: 0.99, within5: 0.9 }
const CALIBRATION_COST = 0.25

interface Options {
  threads: number[]
  archs: number
  heldOut: number
  heldOutCompact: number
  calibration: number
  seed: number
  json?: string
  timeoutMin: number
  rounds?: number
  minTimeMs?: number
  passes?: number
}


function parseOptions(argv: string[]): Options {
  const cmd = new Command('bench:latency')
    .description("fit each LUT's latency model on a calibration set and check it on held-out architectures, beside the remeasure floor")
    .option('--threads <list>', 'comma-separated thread counts', positiveInts, [1, 2])
    .option('--archs <n>', "the calibration seed's architectures (random, compact and uniform) whose blocks make the LUT", positiveInt, 300)
    .option('--held-out <n>', 'held-out random architectures (another seed)', positiveInt, 150)
    .option('--held-out-compact <n>', 'held-out compact architectures (every block downsampling while it can; another seed)', positiveInt, 50)
    .option('--calibration <n>', 'of --archs, how many are measured whole to fit the model', positiveInt, 150)
    .option('--seed <n>', 'calibration seed', positiveInt, 1)
    .option('--json <file>', 'also write figures, predictions and LUTs to this JSON file')
    .option('--rounds <n>', "measurement rounds per target (the campaign's settings.rounds; default the agent's)", positiveInt)
    .option('--min-time-ms <ms>', "timed milliseconds per target (the campaign's settings.minTimeMs; default the agent's)", positiveInt)
    .option('--passes <n>', "windows each target is timed in, pooled (the campaign's settings.passes; default the agent's)", positiveInt)
    .option('--timeout-min <m>', 'give up on a campaign after this many minutes', positiveInt, 120)
  cmd.parse(argv)
  const o = cmd.opts<Options>()
  if (o.calibration > o.archs) throw new InvalidArgumentError('--calibration cannot exceed --archs')
  return o
}


interface HeldOutPoint {
  id: string
  predictedMs: number
  lowMs: number
  highMs: number
  blockSumMs: number
  callOverheadMs: number
  measuredMs: number
  remeasuredMs: number
}

interface LutFigures {
  threads: number
  blocks: number
  profiling: CampaignRun
  remeasure: CampaignRun
  /** Profiling time of the blocks, and of the calibration set (estimated), in minutes. */
  blocksMin: number
  calibrationMin: number
  fitMs: number
  model: LatencyModel
  /** Held-out random architectures (Conv4 family excluded). */
  fitted: Agreement
  fittedAgainstSecond: Agreement
  blockSum: Agreement
  floor: Agreement
  intervalCoverage: number
  /** The same figures on the held-out compact architectures. */
  compact: { fitted: Agreement; blockSum: Agreement; floor: Agreement }
  conv4: HeldOutPoint[]
  points: HeldOutPoint[]
  lut?: LutView
}

function line(name: string, a: Agreement): string {
  return `  ${name.padEnd(34)} ${pct(a.within10).padStart(7)} ${pct(a.within5).padStart(7)} ${pct(a.mape).padStart(7)} ${a.kendallTau.toFixed(3).padStart(6)}  median error ${a.medianError >= 0 ? '+' : ''}${pct(a.medianError)}`
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv)
  const machine = machineInfo()
  const loadStart = loadAverage()
  console.log(`fleetnas bench:latency  ${new Date().toISOString()}`)
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}`)
  console.log(`load average at start: ${loadStart.join(' ')}${loadStart[0] > machine.cores * 0.25 ? '  (other processes are running: figures are noisier than on a quiet machine)' : ''}`)

  const lutArchs = calibrationArchitectures(opts.archs, opts.seed)
  const taken = new Set(lutArchs.map(architectureId))
  const heldOut = sampleArchitectures(createRng(`bench-latency/held-out/${opts.seed}`), opts.heldOut + opts.archs).filter((a) => !taken.has(architectureId(a))).slice(0, opts.heldOut)
  const compactRng = createRng(`bench-latency/held-out-compact/${opts.seed}`)
  const compactIds = new Set<string>()
  const heldOutCompact: Architecture[] = []
  for (let tries = 0; heldOutCompact.length < opts.heldOutCompact && tries < 50 * opts.heldOutCompact; tries++) {
    const a = sampleCompactArchitecture(compactRng)
    const id = architectureId(a)
    if (taken.has(id) || compactIds.has(id) || heldOut.some((h) => architectureId(h) === id)) continue
    compactIds.add(id)
    heldOutCompact.push(a)
  }
  const family = conv4Family()
  const checkIds = [...heldOut, ...heldOutCompact, ...family].map(architectureId)
  const specs = new Map<string, BlockSpec>()
  for (const a of [...lutArchs, ...heldOut, ...heldOutCompact, ...family]) for (const b of architectureBlocks(a)) specs.set(blockKey(b), b)
  console.log(
    `architectures: ${opts.archs} of the calibration seed ${opts.seed} (random, compact and uniform; the first ${opts.calibration} measured whole for calibration), ` +
      `${heldOut.length} random and ${heldOutCompact.length} compact held out (other seeds), Conv4 at widths 64/32/16; ${specs.size} distinct blocks`,
  )

  const fleet = await startBenchFleet({ threads: opts.threads[0] })
  const stopOnSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the agent and the controller\n`)
    void fleet.stop().finally(() => process.exit(130))
  }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', stopOnSignal)
  const results: LutFigures[] = []
  try {
    const { agent, api, device } = fleet
    const profile = device.hardwareProfile ?? 'generic'
    console.log(`agent: pid ${agent.pid}, device ${device.id}, hardware profile ${profile}`)
    const progress = progressLine()
    const timeoutMs = opts.timeoutMin * 60_000
    const dbFile = fleet.controller.store.file
    for (const threads of opts.threads) {
      const settings = { ...(opts.rounds ? { rounds: opts.rounds } : {}), ...(opts.minTimeMs ? { minTimeMs: opts.minTimeMs } : {}), ...(opts.passes ? { passes: opts.passes } : {}) }
      const run = (name: string, body: Record<string, unknown>) => runCampaign(api, agent, { name, deviceId: device.id, threads, body: { ...body, settings } }, progress, timeoutMs)
      const calibrationIds = lutArchs.slice(0, opts.calibration).map(architectureId)
      const profiling = await run(`t${threads}-profile`, { blocks: [...specs.values()], architectures: [...calibrationIds, ...checkIds], architectureBlocks: false })
      const remeasure = await run(`t${threads}-remeasure`, { architectures: checkIds, architectureBlocks: false })
      const lut = await api.get<LutView>(`/v1/luts/${encodeURIComponent(profile)}?runtime=onnxruntime&threads=${threads}`)
      const calibration = new Set(calibrationIds)
      const data = lutData({ blocks: lut.entries, empties: lut.overheads ?? [], architectures: (lut.architectures ?? []).filter((a) => calibration.has(a.key)) }, DEFAULT_SPACE)
      const fitStarted = performance.now()
      const model = fitLatencyModel(calibrationPoints(data, DEFAULT_SPACE), data.callOverheadMs)
      const fitMs = performance.now() - fitStarted
      const predict = predictWith(model, data, DEFAULT_SPACE)
      const [m1, m2] = [profiling, remeasure].map((c) => readArchitectureLatencies(dbFile, c.id))
      const points: HeldOutPoint[] = [...heldOut, ...heldOutCompact, ...family].map((a) => {
        const p = predict(a)
        if (p.predictedMs === null) throw new Error(`no prediction for ${p.id}: missing ${p.missing.join(', ')}`)
        return {
          id: p.id,
          predictedMs: p.predictedMs,
          lowMs: p.lowMs ?? NaN,
          highMs: p.highMs ?? NaN,
          blockSumMs: p.blockSumMs ?? NaN,
          callOverheadMs: p.callOverheadMs,
          measuredMs: m1.get(p.id) ?? NaN,
          remeasuredMs: m2.get(p.id) ?? NaN,
        }
      })
      const familyIds = new Set(family.map(architectureId))
      const measuredTwice = (p: HeldOutPoint) => Number.isFinite(p.measuredMs) && Number.isFinite(p.remeasuredMs)
      const held = points.filter((p) => !familyIds.has(p.id) && !compactIds.has(p.id) && measuredTwice(p))
      const truth = held.map((p) => p.measuredMs)
      const heldCompact = points.filter((p) => compactIds.has(p.id) && measuredTwice(p))
      const compactTruth = heldCompact.map((p) => p.measuredMs)
      // The second campaign measures architectures only: its pace prices the calibration set.
      const perArchMs = remeasure.wallMs / checkIds.length
      const calibrationMs = opts.calibration * perArchMs
      const blocksMs = Math.max(1, profiling.wallMs - (opts.calibration + checkIds.length) * perArchMs)
      const f: LutFigures = {
        threads,
        blocks: specs.size,
        profiling,
        remeasure,
        blocksMin: blocksMs / 60_000,
        calibrationMin: calibrationMs / 60_000,
        fitMs,
        model,
        fitted: agreement(held.map((p) => p.predictedMs), truth),
        fittedAgainstSecond: agreement(held.map((p) => p.predictedMs), held.map((p) => p.remeasuredMs)),
        blockSum: agreement(held.map((p) => p.callOverheadMs + p.blockSumMs), truth),
        floor: agreement(held.map((p) => p.remeasuredMs), truth),
        intervalCoverage: held.filter((p) => p.lowMs <= p.measuredMs && p.measuredMs <= p.highMs).length / Math.max(1, held.length),
        compact: {
          fitted: agreement(heldCompact.map((p) => p.predictedMs), compactTruth),
          blockSum: agreement(heldCompact.map((p) => p.callOverheadMs + p.blockSumMs), compactTruth),
          floor: agreement(heldCompact.map((p) => p.remeasuredMs), compactTruth),
        },
        conv4: points.filter((p) => familyIds.has(p.id)),
        points,
      }
      if (opts.json) f.lut = lut
      results.push(f)

      const r = model.report
      console.log(
        `\nLUT ${profile} / onnxruntime / ${threads} thread(s): ${specs.size} blocks in ${mins(f.blocksMin)}; calibration ${model.n} architectures in ${mins(f.calibrationMin)} ` +
          `(${pct(f.calibrationMin / f.blocksMin)} of the block LUT's time); fit ${fitMs.toFixed(0)} ms`,
      )
      if (r) console.log(`  model: ${model.kind}; cross-validated on its calibration set: ${pct(r.heldOut.within10)} within 10%, ${pct(r.heldOut.within5)} within 5%, MAPE ${pct(r.heldOut.mape)}`)
      console.log(`  ${held.length} held-out architectures             within10 within5    MAPE    tau`)
      console.log(line('fitted model vs measured', f.fitted))
      console.log(line('fitted model vs measured again', f.fittedAgainstSecond))
      console.log(line('bare sum + one call overhead', f.blockSum))
      console.log(line('remeasure floor (2nd vs 1st)', f.floor))
      console.log(`  95% prediction interval covers ${pct(f.intervalCoverage)} of the measured latencies`)
      if (heldCompact.length > 0) {
        console.log(`  ${heldCompact.length} held-out compact architectures     within10 within5    MAPE    tau`)
        console.log(line('fitted model vs measured', f.compact.fitted))
        console.log(line('bare sum + one call overhead', f.compact.blockSum))
        console.log(line('remeasure floor (2nd vs 1st)', f.compact.floor))
      }
      for (const c of f.conv4)
        console.log(`  ${c.id}: predicted ${c.predictedMs.toFixed(4)} ms [${c.lowMs.toFixed(4)}, ${c.highMs.toFixed(4)}], measured ${c.measuredMs.toFixed(4)} and ${c.remeasuredMs.toFixed(4)} ms`)
    }

    const loadEnd = loadAverage()
    const rows: TargetRow[] = []
    for (const f of results) {
      const cost = f.calibrationMin / f.blocksMin
      if (f.threads === 1) {
        rows.push(atMost('1 thread: held-out outside +-10%', 1 - f.fitted.within10, 1 - TARGET_1T.within10, pct, `floor: ${pct(1 - f.floor.within10)}`))
        rows.push(atMost('1 thread: held-out outside +-5%', 1 - f.fitted.within5, 1 - TARGET_1T.within5, pct, `floor: ${pct(1 - f.floor.within5)}`))
      } else {
        rows.push(atMost(`${f.threads} threads: outside +-10% (limit: floor's)`, 1 - f.fitted.within10, 1 - f.floor.within10, pct))
        rows.push(atMost(`${f.threads} threads: outside +-5% (limit: floor's)`, 1 - f.fitted.within5, 1 - f.floor.within5, pct))
      }
      rows.push(atMost(`${f.threads} thread(s): calibration / block LUT time`, cost, CALIBRATION_COST, pct))
    }
    console.log('\nsummary')
    console.log(renderTargets(rows))
    console.log(`load average: start ${loadStart.join(' ')}, end ${loadEnd.join(' ')} (${machine.cores} cores)`)
    if (opts.json) {
      await writeFile(opts.json, `${JSON.stringify({ time: new Date().toISOString(), machine, loadAverage: { start: loadStart, end: loadEnd }, options: opts, results, targets: rows }, null, 2)}\n`)
      console.log(`figures written to ${opts.json}`)
    }
  } finally {
    await fleet.stop()
  }
}

main().catch((e) => {
  process.stderr.write(`bench:latency failed: ${(e as Error).stack ?? e}\n`)
  process.exitCode = 1
})
