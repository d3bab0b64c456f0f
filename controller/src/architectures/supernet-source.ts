/**
 * The accuracy source of architecture requests: a supernet checkpoint (`fleetnas supernet train`),
 * evaluated on the validation split of the dataset it was trained on (its run record names it; the
 * built-in glyphs otherwise). Per task shape, a ridge predictor is fitted once on real few-shot
 * evaluations of a seeded sample of sub-networks (the largest and smallest among them) and kept
 * beside the checkpoint; the search ranks with it, and the best few are evaluated for real.
 * Fine-tuning meta-trains the chosen sub-network alone (first-order MAML from its inherited
 * weights, the supernet's task shape and rates) on the training split of the same data.
 */
import { mkdir, readFile, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { architectureId, buildArchitectureModel, createRng, parseArchitectureId, writeFileAtomic, type Architecture } from '@fleetnas/shared'
import type { Logger } from 'pino'
import { createTaskSampler, type FewShotDataset, type Split } from '../nas/data/index.ts'
import { createNetwork, TrainingEngine } from '../nas/engine/engine.ts'
import { exportParamSource } from '../nas/engine/export.ts'
import { encodeCheckpoint, loadCheckpoint, type Checkpoint } from '../nas/maml/checkpoint.ts'
import { metaEvaluate } from '../nas/maml/evaluate.ts'
import { metaTrain } from '../nas/maml/meta-train.ts'
import { withWay } from '../nas/maml/with-way.ts'
import { accuracyPredictorFromJson, fitAccuracyPredictor, type AccuracyPredictor, type AccuracySample } from '../nas/search/accuracy-predictor.ts'
import { evaluateSubnet, loadSupernetCheckpoint, SandwichSampler, subnetCheckpoint, type SupernetCheckpoint } from '../nas/supernet/index.ts'
import { SUBNET_OPTIMIZATION } from '../nas/supernet/sessions.ts'
import { openChosenDataset, readRunRecord, type DatasetChoice } from '../nas/maml/run-record.ts'
import type { AccuracySource, FewShotTask, MeasuredAccuracy } from './accuracy-source.ts'

export interface SupernetSourceOptions {
  /** Sub-networks evaluated to fit a task shape's predictor (default 48). */
  predictorSamples?: number
  /** Few-shot tasks per such evaluation (default 25). */
  predictorTasks?: number
  /** Query images per class in evaluation tasks (default 5). */
  query?: number
  /** Threads for evaluation and fine-tuning (above 1: tasks in worker threads; default 1). */
  threads?: number
  log?: Logger
}

const evalSplit = (dataset: FewShotDataset, way: number): Split => (dataset.describe().splits.val.classes >= way ? 'val' : 'train')

export async function openSupernetSource(checkpointPath: string, opts: SupernetSourceOptions = {}): Promise<AccuracySource> {
  const ck: SupernetCheckpoint = await loadSupernetCheckpoint(checkpointPath)
  const record = await readRunRecord(checkpointPath)
  const choice: DatasetChoice = record?.dataset ?? { kind: 'glyphs', size: ck.space.input.h }
  const dataset = await openChosenDataset(choice)
  const query = opts.query ?? 5
  const samplers = new Map<string, ReturnType<typeof createTaskSampler>>()
  const sampler = (task: FewShotTask) => {
    const key = `${task.way}/${task.shot}`
    let s = samplers.get(key)
    if (!s) samplers.set(key, (s = createTaskSampler(dataset, { ...task, query, split: evalSplit(dataset, task.way) })))
    return s
  }
  const predictors = new Map<string, Promise<AccuracyPredictor>>()
  // "v4": kernel ridge on the ends, uniform networks, their near neighbours and any networks within the training cap (older files: other samples or models).
  const predictorFile = (task: FewShotTask) => `${checkpointPath}.predictor-${task.way}w${task.shot}s-i${ck.iteration}-v4.json`

  const threads = opts.threads ?? 1
  const evaluate = async (id: string | Architecture, task: FewShotTask & { tasks: number }, seed = 0): Promise<MeasuredAccuracy> => {
    const r = await evaluateSubnet(ck, id, { sampler: sampler(task), way: task.way, tasks: task.tasks, seed, threads })
    return { mean: r.accuracy, ci95: r.ci95, tasks: r.tasks }
  }

  /** The sub-network's weights at `way` classes: inherited, or a fine-tuned checkpoint's. */
  const weightsOf = async (id: string, way: number, weights?: string): Promise<Checkpoint> => {
    if (weights === undefined) return subnetCheckpoint(ck, id, { way })
    const tuned = await loadCheckpoint(weights)
    if (tuned.architectureId !== architectureId(parseArchitectureId(id, ck.space)))
      throw new Error(`${weights} holds ${tuned.architectureId}, not ${id}`)
    return withWay(tuned, way)
  }

  const fitPredictor = async (task: FewShotTask, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<AccuracyPredictor> => {
    const file = predictorFile(task)
    try {
      return accuracyPredictorFromJson(JSON.parse(await readFile(file, 'utf8')))
    } catch {
      // not fitted yet for this checkpoint and task shape (or unreadable): fit it
    }
    const n = opts.predictorSamples ?? 48
    // Where the supernet trained (its compute cap) and the search looks: the sandwich's ends, a
    // quarter uniform networks (the ends' kind, the manual baselines' kind), a quarter their near
    // neighbours (where the search, seeded with the uniform anchors, spends its generations, and
    // where a predictor fitted on uniform and random networks alone over-rated the mixes), the rest
    // any networks.
    const sandwich = new SandwichSampler(ck.space, ck.config)
    const rng = createRng(`predictor/${task.way}/${task.shot}`)
    const ends = ck.space.ops.flatMap((op) => [sandwich.largest(op), sandwich.smallest(op)])
    const quarter = Math.round(n / 4)
    const uniform = sandwich.sampleUniformWithinCap(rng, quarter)
    const neighbours = sandwich.sampleNeighboursWithinCap(rng, uniform, quarter, (a) => sandwich.neighbour(rng, a))
    const taken = new Set([...ends, ...uniform, ...neighbours].map(architectureId))
    const rest = sandwich.sampleWithinCap(rng, n).filter((a) => !taken.has(architectureId(a)))
    const archs = [...ends, ...uniform, ...neighbours, ...rest.slice(0, Math.max(0, n - taken.size))]
    const samples: AccuracySample[] = []
    for (const [i, a] of archs.entries()) {
      if (signal?.aborted) throw new Error('stopped while fitting the accuracy predictor')
      onProgress?.(i, archs.length)
      const m = await evaluate(a, { ...task, tasks: opts.predictorTasks ?? 25 }, i)
      samples.push({ architecture: a, accuracy: m.mean })
    }
    onProgress?.(archs.length, archs.length)
    const predictor = fitAccuracyPredictor(samples, { space: ck.space })
    await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(predictor.toJSON())))
    opts.log?.info({ task, n, kendallTau: predictor.report.heldOut.kendallTau }, 'accuracy predictor fitted')
    return predictor
  }

  const anchors = new SandwichSampler(ck.space, ck.config).uniformWithinCap()
  return {
    describe: () => ({ checkpoint: checkpointPath, iterations: ck.iteration }),
    anchors: () => anchors,
    predictor(task, onProgress, signal) {
      const key = `${task.way}/${task.shot}`
      let p = predictors.get(key)
      if (!p) {
        p = fitPredictor(task, onProgress, signal)
        predictors.set(key, p)
        p.catch(() => predictors.delete(key)) // a failed fit is tried again next time
      }
      return p
    },
    async evaluate(id, task, weights) {
      // One seed for confirmations, inherited or fine-tuned: the same tasks, so the figures compare.
      const seed = 1_000_000
      if (weights === undefined) return evaluate(id, task, seed)
      const r = await metaEvaluate(await weightsOf(id, task.way, weights), sampler(task), { tasks: task.tasks, seed, threads, graphOptimizationLevel: SUBNET_OPTIMIZATION })
      return { mean: r.accuracy, ci95: r.ci95, tasks: r.tasks }
    },
    async finetune(id, f) {
      const c = ck.config
      const start = subnetCheckpoint(ck, id)
      let resumeFrom: string | Checkpoint = { ...start, iteration: 0 }
      if (await checkpointExists(f.path)) {
        const kept = await loadCheckpoint(f.path)
        if (kept.iteration >= f.iterations) return { iterations: kept.iteration, trainMs: 0 } // fine-tuned before: nothing to write
        resumeFrom = kept
      }
      await mkdir(dirname(f.path), { recursive: true })
      const train = createTaskSampler(dataset, { way: c.way, shot: c.shot, query: c.query, split: 'train' })
      const started = performance.now()
      const done = await metaTrain({
        arch: start.arch,
        space: start.space,
        sampler: train,
        way: c.way,
        shot: c.shot,
        query: c.query,
        iterations: f.iterations,
        threads,
        resumeFrom,
        checkpoint: { path: f.path, every: 50 },
        onProgress: (p) => f.onProgress?.(p.iteration, p.iterations),
        ...(f.signal && { signal: f.signal }),
      })
      return { iterations: done.iteration, trainMs: performance.now() - started }
    },
    exportCheckpoint: async (id, way, weights) => encodeCheckpoint(await weightsOf(id, way, weights)),
    async exportModel(id, way, weights) {
      // Inference BN needs statistics: those of one batch of real images, as training used.
      const sub = await weightsOf(id, way, weights)
      const net = createNetwork(sub.arch, sub.space)
      const batch = sampler({ way, shot: 1 }).sample(createRng(`export/${id}`))
      const engine = new TrainingEngine({ threads: 1 })
      try {
        const { stats } = await engine.forward(net, sub.params, batch.queryset.x)
        return buildArchitectureModel(sub.arch, { space: sub.space, batch: 'batch', params: exportParamSource(net.layout, sub.params, stats) }).bytes
      } finally {
        await engine.dispose()
      }
    },
  }
}

/** Whether a checkpoint file is there (for a clear error before anything is loaded). */
export async function checkpointExists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  )
}
