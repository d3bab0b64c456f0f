/**
 * `npm run bench:nas`: hardware-aware meta-NAS end to end on this machine, against the manual
 * baselines, on the Omniglot background set's held-out alphabets.
 *
 *   1. the supernet: a checkpoint given with --supernet (trained by `fleetnas supernet train`, see
 *      README), or trained here first with --train-supernet N (the README recipe, N iterations);
 *   2. the baselines, Conv4 at widths 64, 32 and 16 (--baselines): `supernet`, as sub-networks of
 *      the supernet fine-tuned exactly as the answers are (the same recipe, the same budget), and/or
 *      `standalone`, meta-trained from scratch with the supernet's recipe for as many iterations as
 *      an answer saw (supernet + fine-tuning), kept in --work-dir;
 *   3. one controller with that supernet and one real agent; per LUT (onnxruntime at each --threads,
 *      and tfjs at one thread where the agent has it), one campaign measures the Conv4 family whole
 *      and a calibration set for the latency model;
 *   4. per LUT, way and budget (a share of Conv4's measured latency): an architecture request
 *      through the HTTP API, as a user makes it (fine-tuning and verification on: the answer is
 *      measured whole on the agent); blocks the LUT lacks are profiled by the request itself;
 *   5. every answer (with the weights its model.onnx carries) and every baseline evaluated on the
 *      same --tasks tasks of the validation alphabets (15 queries per class, --eval-steps steps);
 *   6. print, per LUT: budget, answer, predicted and measured latency, accuracy with its 95% CI,
 *      search time; the targets of issue 12; a Pareto plot per LUT and way (SVG in --out-dir).
 *
 *   npm run bench:nas -- --supernet /tmp/supernet.ckpt                 the full run
 *   npm run bench:nas -- --supernet S --threads 1 --ways 5 --tasks 100 --finetune 50   a quick look
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { positiveInt, positiveInts } from './lib/cli-args.ts'
import { architectureId, conv4Family, RUNTIMES, type Architecture, type RuntimeName as Runtime } from '@fleetnas/shared'
import { watchRequest } from '../controller/src/cli/commands/arch.ts'
import { createTaskSampler, type FewShotDataset } from '../controller/src/nas/data/index.ts'
import { omniglotAbsent, OMNIGLOT_ZIP } from '../controller/src/nas/data/omniglot-location.ts'
import { decodeCheckpoint, metaEvaluate, openChosenDataset, withWay, writeRunRecord, type Checkpoint, type DatasetChoice } from '../controller/src/nas/maml/index.ts'
import { loadSupernetCheckpoint, supernetMetaTrain, type SupernetCheckpoint } from '../controller/src/nas/supernet/index.ts'
import { runCampaign } from './lib/campaign-run.ts'
import { startBenchFleet } from './lib/fleet.ts'
import { loadAverage, machineInfo } from './lib/machine.ts'
import { trainBaselines, type Baseline } from './lib/nas-baselines.ts'
import { openSupernetSource } from '../controller/src/architectures/supernet-source.ts'
import { paretoSvg, type ParetoPoint } from './lib/pareto-svg.ts'
import { progressLine } from './lib/progress-line.ts'
import { renderTargets, type TargetRow } from './lib/targets.ts'

interface Options {
  supernet?: string
  trainSupernet?: number
  finetune: number
  baselineIterations?: number
  baselines: ('supernet' | 'standalone')[]
  budgets: number[]
  threads: number[]
  runtimes: Runtime[]
  ways: number[]
  tasks: number
  evalSteps: number
  evalThreads: number
  calibration: number
  predictorSamples: number
  predictorTasks: number
  workDir: string
  outDir: string
  json?: string
  timeoutMin: number
}

const fractions = (v: string) =>
  v.split(',').map((x) => {
    const f = Number(x)
    if (!(f > 0 && f <= 4)) throw new InvalidArgumentError('comma-separated shares of Conv4 latency in (0, 4], e.g. 0.2,0.4,0.6,1')
    return f
  })

const runtimeList = (v: string) =>
  v.split(',').map((r) => {
    const runtime = RUNTIMES.find((x) => x === r)
    if (!runtime) throw new InvalidArgumentError(`${RUNTIMES.join(', ')} (comma-separated)`)
    return runtime
  })

const baselineKinds = (v: string) =>
  v.split(',').map((k) => {
    if (k !== 'supernet' && k !== 'standalone') throw new InvalidArgumentError('supernet, standalone or both (comma-separated)')
    return k
  })

function parseOptions(argv: string[]): Options {
  const cmd = new Command('bench:nas')
    .description('architecture requests on this machine against the Conv4 family, on held-out Omniglot alphabets')
    .option('--supernet <file>', 'a supernet checkpoint (fleetnas supernet train, on Omniglot)')
    .option('--train-supernet <n>', 'train one first, N iterations of the README recipe (into --work-dir)', positiveInt)
    .option('--finetune <n>', 'fine-tuning iterations of every answer', (v) => (v === '0' ? 0 : positiveInt(v)), 300)
    .option('--baselines <list>', 'Conv4 baselines: supernet (its sub-networks, fine-tuned like the answers), standalone (trained from scratch), or both', baselineKinds, ['supernet'])
    .option('--baseline-iterations <n>', 'meta-iterations of each standalone baseline (default: supernet + fine-tuning)', positiveInt)
    .option('--budgets <list>', "latency budgets as shares of Conv4's measured latency", fractions, [0.2, 0.4, 0.6, 1])
    .option('--threads <list>', 'onnxruntime LUT thread counts', positiveInts, [1, 2])
    .option('--runtimes <list>', 'runtimes to search LUTs of (tfjs: one thread, skipped when the agent has no tfjs)', runtimeList, ['onnxruntime', 'tfjs'])
    .option('--ways <list>', 'task ways (1-shot)', positiveInts, [5, 20])
    .option('--tasks <n>', 'evaluation tasks per model and way', positiveInt, 600)
    .option('--eval-steps <n>', 'adaptation steps at evaluation', positiveInt, 10)
    .option('--eval-threads <n>', 'threads for training, fine-tuning and evaluation', positiveInt, 2)
    .option('--calibration <n>', "architectures measured whole per LUT for the latency model", positiveInt, 40)
    .option('--predictor-samples <n>', "sub-networks evaluated to fit the accuracy predictor (the controller's accuracyEstimation)", positiveInt, 48)
    .option('--predictor-tasks <n>', 'tasks per such evaluation', positiveInt, 25)
    .option('--work-dir <dir>', 'where the trained supernet and baselines are kept between runs', join(tmpdir(), 'fleetnas-bench-nas'))
    .option('--out-dir <dir>', 'where the Pareto plots are written', 'docs/bench')
    .option('--json <file>', 'also write every figure to this JSON file')
    .option('--timeout-min <m>', 'give up on a campaign after this many minutes', positiveInt, 180)
  cmd.parse(argv)
  const o = cmd.opts<Options>()
  if ((o.supernet === undefined) === (o.trainSupernet === undefined)) throw new InvalidArgumentError('give --supernet FILE or --train-supernet N')
  return o
}

const OMNIGLOT: DatasetChoice = { kind: 'omniglot', path: OMNIGLOT_ZIP, size: 28 }

/** One latency lookup table the bench searches against. */
interface Lut {
  runtime: Runtime
  threads: number
  /** How figures and files name it: "1t", "2t", "tfjs". */
  tag: string
}

interface Answer {
  runtime: Runtime
  threads: number
  way: number
  budget: number
  budgetMs: number
  requestId: string
  architecture: string
  params: number
  predictedMs: number
  measuredMs: number | null
  searchMs: number
  predictorMs: number
  finetuneMs: number
  profilingMs: number
  accuracy: { mean: number; ci95: number }
  inherited: { mean: number; ci95: number } | null
}

interface BaselinePoint {
  runtime: Runtime
  threads: number
  way: number
  kind: BaselineKind
  architecture: string
  measuredMs: number
  accuracy: { mean: number; ci95: number }
}

type BaselineKind = 'Conv4 (supernet, fine-tuned)' | 'Conv4 (trained alone)'

const pct = (v: number) => `${(v * 100).toFixed(2)}%`
const acc = (a: { mean: number; ci95: number }) => `${pct(a.mean)} ± ${pct(a.ci95)}`
const msf = (v: number | null) => (v === null ? '-' : v >= 1 ? v.toFixed(3) : v.toPrecision(3))

async function supernetFor(opts: Options, dataset: FewShotDataset, progress: ReturnType<typeof progressLine>): Promise<{ path: string; ck: SupernetCheckpoint }> {
  if (opts.supernet) return { path: opts.supernet, ck: await loadSupernetCheckpoint(opts.supernet) }
  const path = join(opts.workDir, `supernet-i${opts.trainSupernet}.ckpt`)
  const ck = await supernetMetaTrain({
    sampler: createTaskSampler(dataset, { way: 20, shot: 1, query: 5, split: 'train' }),
    way: 20,
    shot: 1,
    query: 5,
    iterations: opts.trainSupernet!,
    innerSteps: 5,
    innerLr: 0.4,
    metaBatch: 4,
    outerLr: 0.001,
    evalSteps: opts.evalSteps,
    threads: opts.evalThreads,
    checkpoint: { path, every: 200 },
    ...(existsSync(path) && { resumeFrom: path }),
    onProgress: (p) => progress.update(`supernet: iteration ${p.iteration}/${p.iterations}, largest ${((p.roles.largest?.accuracy ?? 0) * 100).toFixed(1)}%, ${p.tasksPerSecond.toFixed(2)} tasks/s`),
  })
  progress.done()
  // The controller reads the dataset to evaluate on from the run record.
  await writeRunRecord(path, {
    format: 'fleetnas-meta-train-run',
    version: 1,
    dataset: OMNIGLOT,
    architectureId: 'supernet',
    validation: [],
    trainMs: ck.trainMs ?? 0,
    updatedAt: new Date().toISOString(),
  })
  return { path, ck }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv)
  const absent = omniglotAbsent()
  if (absent) {
    console.error(`bench:nas needs Omniglot. ${absent}`)
    process.exit(2)
  }
  const machine = machineInfo()
  console.log(`fleetnas bench:nas  ${new Date().toISOString()}`)
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}; load average at start ${loadAverage().join(' ')}`)
  await mkdir(opts.workDir, { recursive: true })
  await mkdir(opts.outDir, { recursive: true })
  const progress = progressLine()
  const dataset = await openChosenDataset(OMNIGLOT)

  const supernet = await supernetFor(opts, dataset, progress)
  const sc = supernet.ck.config
  console.log(`supernet: ${supernet.path}, ${supernet.ck.iteration} iterations of ${sc.way}-way ${sc.shot}-shot, meta-batch ${sc.metaBatch}, ${((supernet.ck.trainMs ?? 0) / 60000).toFixed(1)} min of training`)

  const family = conv4Family()
  const baselineIterations = opts.baselineIterations ?? supernet.ck.iteration + opts.finetune
  // Baseline weights per kind: checkpoints at the supernet's training way (resized per evaluation).
  const baselineWeights: { kind: BaselineKind; id: string; checkpoint: Checkpoint }[] = []
  if (opts.baselines.includes('supernet')) {
    const source = await openSupernetSource(supernet.path, { threads: opts.evalThreads })
    for (const arch of family) {
      const id = architectureId(arch)
      let weights: string | undefined
      if (opts.finetune > 0) {
        weights = join(opts.workDir, `supernet-${basename(supernet.path)}-i${supernet.ck.iteration}-${id}-ft${opts.finetune}.ckpt`)
        await source.finetune(id, { iterations: opts.finetune, path: weights, onProgress: (done, total) => progress.update(`fine-tuning ${id} in the supernet: ${done}/${total}`) })
        progress.done()
      }
      baselineWeights.push({ kind: 'Conv4 (supernet, fine-tuned)', id, checkpoint: decodeCheckpoint(await source.exportCheckpoint(id, sc.way, weights)) })
    }
    console.log(`baselines: Conv4 w64/w32/w16 as sub-networks of the supernet, fine-tuned ${opts.finetune} iterations like the answers`)
  }
  if (opts.baselines.includes('standalone')) {
    const trainSampler = createTaskSampler(dataset, { way: sc.way, shot: sc.shot, query: sc.query, split: 'train' })
    const trained: Baseline[] = await trainBaselines({ family, supernet: supernet.ck, iterations: baselineIterations, sampler: trainSampler, threads: opts.evalThreads, workDir: opts.workDir, progress })
    for (const b of trained) baselineWeights.push({ kind: 'Conv4 (trained alone)', id: b.id, checkpoint: b.checkpoint })
    console.log(`baselines: Conv4 w64/w32/w16 from scratch, ${baselineIterations} iterations each (${trained.map((b) => `${(b.trainMs / 60000).toFixed(1)} min`).join(', ')} this run)`)
  }

  // One sampler per way over the validation alphabets; metaEvaluate draws its tasks from a fixed seed, so every model meets the same tasks.
  const evalSamplers = new Map(opts.ways.map((way) => [way, createTaskSampler(dataset, { way, shot: 1, query: 15, split: 'val' })]))
  const evaluated = new Map<string, { mean: number; ci95: number }>()
  const evaluate = async (key: string, ck: Checkpoint, way: number) => {
    const k = `${key}@${way}`
    let r = evaluated.get(k)
    if (!r) {
      const e = await metaEvaluate(withWay(ck, way), evalSamplers.get(way)!, {
        tasks: opts.tasks,
        innerSteps: opts.evalSteps,
        threads: opts.evalThreads,
        onProgress: (done, total, mean) => progress.update(`evaluating ${key} ${way}-way: ${done}/${total} tasks, ${(mean * 100).toFixed(1)}%`),
      })
      progress.done()
      evaluated.set(k, (r = { mean: e.accuracy, ci95: e.ci95 }))
    }
    return r
  }

  const fleet = await startBenchFleet({
    threads: opts.threads[0],
    controller: { supernet: supernet.path, accuracyEstimation: { threads: opts.evalThreads, predictorSamples: opts.predictorSamples, predictorTasks: opts.predictorTasks } },
  })
  const answers: Answer[] = []
  const baselinePoints: BaselinePoint[] = []
  const luts: Lut[] = []
  try {
    const profile = fleet.device.hardwareProfile!
    if (opts.runtimes.includes('onnxruntime')) for (const threads of opts.threads) luts.push({ runtime: 'onnxruntime', threads, tag: `${threads}t` })
    if (opts.runtimes.includes('tfjs')) {
      const tfjs = fleet.device.runtimes?.find((r) => r.name === 'tfjs')
      if (tfjs) luts.push({ runtime: 'tfjs', threads: 1, tag: 'tfjs' })
      else console.log('tfjs: not installed on the agent, its LUT skipped')
    }
    for (const { runtime, threads, tag } of luts) {
      const campaign = await runCampaign(
        fleet.api,
        fleet.agent,
        { name: `bench:nas ${tag} Conv4 + calibration`, deviceId: fleet.device.id, threads, runtime, body: { architectures: family.map(architectureId), calibration: { count: opts.calibration } } },
        progress,
        opts.timeoutMin * 60_000,
      )
      progress.done()
      if (campaign.state !== 'SUCCEEDED') throw new Error(`the ${tag} campaign ended ${campaign.state}: ${campaign.reason ?? ''}`)
      const predicted = await fleet.api.post<{ predictions: { id: string; measuredMs: number | null }[] }>(`/v1/luts/${profile}/predict`, {
        runtime,
        threads,
        architectures: family.map(architectureId),
      })
      const measured = new Map(predicted.predictions.map((p) => [p.id, p.measuredMs]))
      const conv4Ms = measured.get(architectureId(family[0]))
      if (!conv4Ms) throw new Error(`Conv4 was not measured whole on ${runtime} at ${threads} thread(s)`)
      console.log(`\n${runtime}, ${threads} thread(s): Conv4 measured ${msf(conv4Ms)} ms (w32 ${msf(measured.get(architectureId(family[1])) ?? null)}, w16 ${msf(measured.get(architectureId(family[2])) ?? null)})`)
      for (const way of opts.ways) {
        for (const b of baselineWeights) {
          const point: BaselinePoint = { runtime, threads, way, kind: b.kind, architecture: b.id, measuredMs: measured.get(b.id)!, accuracy: await evaluate(`${b.kind} ${b.id}`, b.checkpoint, way) }
          baselinePoints.push(point)
          console.log(`  ${tag} ${way}-way ${b.kind}: ${b.id}  measured ${msf(point.measuredMs)} ms, ${acc(point.accuracy)}`)
        }
        for (const budget of opts.budgets) {
          const budgetMs = budget * conv4Ms
          const label = `${tag} ${way}-way ${Math.round(budget * 100)}% (${msf(budgetMs)} ms)`
          const { id } = await fleet.api.post<{ id: string }>('/v1/architectures', {
            hardwareProfile: profile,
            runtime,
            threads,
            constraints: { latencyMs: budgetMs },
            task: { way, shot: 1 },
            finetune: opts.finetune,
            verify: true,
          })
          const r = await watchRequest(fleet.api, id, { intervalMs: 1000, onProgress: (line) => progress.update(`${label}: ${line}`) })
          progress.done()
          if (r.state !== 'SUCCEEDED' || !r.result) {
            console.log(`  ${label}: ${r.state} ${r.error?.code ?? ''} ${r.error?.message ?? ''}`)
            continue
          }
          const x = r.result
          const bytes = await fleet.api.requestBytes('GET', `/v1/architectures/${id}/checkpoint`)
          const weights = decodeCheckpoint(new Uint8Array(bytes))
          const key = `${x.architecture.id}${x.finetune ? ` +${x.finetune.iterations}` : ''}`
          const a: Answer = {
            runtime,
            threads,
            way,
            budget,
            budgetMs,
            requestId: id,
            architecture: x.architecture.id,
            params: x.params,
            predictedMs: x.latency.predictedMs,
            measuredMs: x.latency.measuredMs,
            searchMs: x.timings.searchMs,
            predictorMs: x.timings.predictorMs,
            finetuneMs: x.timings.finetuneMs ?? 0,
            profilingMs: x.timings.profilingMs,
            accuracy: await evaluate(key, weights, way),
            inherited: x.accuracy.measured,
          }
          answers.push(a)
          console.log(
            `  ${label}: ${a.architecture}  predicted ${msf(a.predictedMs)} ms (bound ${msf(x.latency.boundMs ?? null)}), measured ${msf(a.measuredMs)} ms, ${acc(a.accuracy)} (search ${(a.searchMs / 1000).toFixed(1)} s)`,
          )
          for (const c of x.confirmed ?? [])
            console.log(
              `      confirmed ${c.anchor ? '(anchor) ' : ''}${c.id}  ${msf(c.latencyMs)} ms predicted, ${pct(c.measured.mean)} inherited (predicted ${pct(c.predicted)}` +
                `${c.raced ? `, ${pct(c.raced.mean)} after ${x.finetune?.race?.iterations ?? '?'} iterations` : ''}, ${c.measured.tasks} tasks)`,
            )
        }
      }
    }
  } finally {
    progress.done()
    await fleet.stop()
  }

  // Tables, targets and plots.
  const targets: TargetRow[] = []
  const plots: string[] = []
  for (const { runtime, threads, tag } of luts) {
    for (const way of opts.ways) {
      const rows = answers.filter((a) => a.runtime === runtime && a.threads === threads && a.way === way)
      const base = baselinePoints.filter((b) => b.runtime === runtime && b.threads === threads && b.way === way)
      // The reference Conv4 is the strongest baseline kind run (trained alone when both are).
      const conv4 =
        base.find((b) => b.kind === 'Conv4 (trained alone)' && b.architecture === architectureId(family[0])) ?? base.find((b) => b.architecture === architectureId(family[0]))
      if (!conv4) continue
      console.log(`\n${runtime}, ${threads} thread(s), ${way}-way 1-shot (${opts.tasks} tasks, 95% CI):`)
      console.log(`  ${'budget'.padEnd(14)} ${'architecture'.padEnd(92)} ${'pred ms'.padStart(9)} ${'meas ms'.padStart(9)} ${'of Conv4'.padStart(8)}  accuracy`)
      for (const b of base) console.log(`  ${(b.kind === 'Conv4 (trained alone)' ? '(alone)' : '(supernet)').padEnd(14)} ${b.architecture.padEnd(92)} ${''.padStart(9)} ${msf(b.measuredMs).padStart(9)} ${pct(b.measuredMs / conv4.measuredMs).padStart(8)}  ${acc(b.accuracy)}`)
      for (const a of rows)
        console.log(
          `  ${`${Math.round(a.budget * 100)}% ${msf(a.budgetMs)}`.padEnd(14)} ${a.architecture.padEnd(92)} ${msf(a.predictedMs).padStart(9)} ${msf(a.measuredMs).padStart(9)} ${a.measuredMs === null ? '-'.padStart(8) : pct(a.measuredMs / conv4.measuredMs).padStart(8)}  ${acc(a.accuracy)}`,
        )
      const small = rows.filter((a) => a.measuredMs !== null && a.measuredMs <= 0.4 * conv4.measuredMs)
      const bestSmall = Math.max(-1, ...small.map((a) => a.accuracy.mean))
      targets.push({
        name: `${tag} ${way}w: best answer at <= 40% of Conv4's latency, minus ${conv4.kind}`,
        value: bestSmall - conv4.accuracy.mean,
        shown: small.length ? `${((bestSmall - conv4.accuracy.mean) * 100).toFixed(2)} pt` : 'none',
        limit: 0,
        limitShown: '>= 0 pt',
        pass: small.length > 0 && bestSmall >= conv4.accuracy.mean,
      })
      const family3 = base.filter((b) => b.kind === conv4.kind)
      const dominated = family3.filter((b) => rows.some((a) => a.measuredMs !== null && a.measuredMs <= b.measuredMs && a.accuracy.mean >= b.accuracy.mean))
      targets.push({
        name: `${tag} ${way}w: Conv4 widths (${conv4.kind}) dominated by an answer`,
        value: dominated.length,
        shown: `${dominated.length} of ${family3.length}`,
        limit: family3.length,
        limitShown: `${family3.length} of ${family3.length}`,
        pass: dominated.length === family3.length,
      })
      const full = rows.find((a) => a.budget === 1)
      if (way === 20 && full)
        targets.push({
          name: `${tag} 20w: answer at 100% minus ${conv4.kind}`,
          value: full.accuracy.mean - conv4.accuracy.mean,
          shown: `${((full.accuracy.mean - conv4.accuracy.mean) * 100).toFixed(2)} pt`,
          limit: 0.02,
          limitShown: '>= 2 pt',
          pass: full.accuracy.mean - conv4.accuracy.mean >= 0.02,
        })
      const points: ParetoPoint[] = [
        ...base.map((b) => ({ kind: b.kind, label: b.architecture.includes('w64') ? 'w64' : b.architecture.includes('w32') ? 'w32' : 'w16', latencyMs: b.measuredMs, accuracy: b.accuracy.mean, ci95: b.accuracy.ci95 })),
        ...rows.filter((a) => a.measuredMs !== null).map((a) => ({ kind: 'searched', label: `${Math.round(a.budget * 100)}%`, latencyMs: a.measuredMs!, accuracy: a.accuracy.mean, ci95: a.accuracy.ci95 })),
      ]
      const file = join(opts.outDir, `nas-pareto-${tag}-${way}way.svg`)
      await writeFile(file, paretoSvg(points, { title: `${runtime} ${threads} thread(s), ${way}-way 1-shot, held-out Omniglot alphabets`, conv4Ms: conv4.measuredMs }))
      plots.push(file)
    }
  }
  const searchSeconds = answers.map((a) => a.searchMs / 1000)
  if (searchSeconds.length)
    targets.push({ name: 'slowest search of a request (fine-tuning, profiling, verification apart)', value: Math.max(...searchSeconds), shown: `${Math.max(...searchSeconds).toFixed(1)} s`, limit: 30, limitShown: '<= 30 s', pass: Math.max(...searchSeconds) <= 30 })
  console.log(`\ntargets (issue 12):\n${renderTargets(targets)}`)
  console.log(`plots: ${plots.join(', ')}`)
  if (opts.json) await writeFile(opts.json, JSON.stringify({ options: opts, supernet: { path: supernet.path, iterations: supernet.ck.iteration, config: sc }, baselineIterations, answers, baselines: baselinePoints, targets }, null, 2))
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e)
  process.exit(1)
})
