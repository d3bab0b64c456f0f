/**
 * Meta-training a supernet: first-order MAML with the zero head over shared weights. Each
 * meta-iteration draws its sub-networks by the sandwich rule (sandwich.ts: the largest, the
 * smallest and random ones) and samples one task per sub-network; every task runs its own
 * (network, parameters) through the inner-loop runner (`runEach`: worker threads when `threads` >
 * 1), with parameters gathered from the shared weights (subnet-plan.ts). Each task's query-loss
 * gradient is added back into the shared slices it came from, the sum is divided by the tasks of
 * the batch, and Adam takes one step on the shared values the batch touched (lazy-adam.ts).
 *
 * Compiling a sub-network's ONNX Runtime sessions costs several tasks' time (bench/supernet.ts
 * prints it), so sessions are cached by architecture id in every engine (`maxSessions`, bounded),
 * the pool sends a sub-network to the worker that has it compiled, and random sub-networks are
 * kept for `randomReuse` iterations.
 *
 * Everything random derives from (seed, iteration): a run resumed from a checkpoint draws the
 * sub-networks and tasks the uninterrupted run would have, and sums gradients in the same order.
 */
import { DEFAULT_SPACE, architectureId, createRng, type SearchSpace } from '@fleetnas/shared'
import type { TaskSampler } from '../data/tasks.ts'
import { TrainingEngine } from '../engine/engine.ts'
import { InnerLoopPool } from '../engine/inner-loop-pool.ts'
import { serialRunner, type InnerLoopRunner, type NetworkTask } from '../engine/inner-loop-runner.ts'
import { LruCache } from '../engine/lru-cache.ts'
import { createAdamState } from '../maml/adam.ts'
import { accuracyOf, checkTask, innerTaskOf, mamlTaskRng } from '../maml/meta-train.ts'
import { loadSupernetCheckpoint, saveSupernetCheckpoint, type SupernetCheckpoint, type SupernetValidation } from './checkpoint.ts'
import { resolveSupernetConfig, type SupernetConfig } from './config.ts'
import { SupernetCheckpointMismatch } from './errors.ts'
import { evaluateSubnet, subnetsOf } from './evaluate.ts'
import { SandwichSampler, type SubnetDraw, type SubnetRole } from './sandwich.ts'
import { SUBNET_OPTIMIZATION, SUBNET_SESSIONS } from './sessions.ts'
import { LazyAdam } from './lazy-adam.ts'
import { gatherParams, scatterAdd, type SubnetPlan } from './subnet-plan.ts'
import { initSupernetParams, supernetLayout } from './supernet-layout.ts'

export interface SupernetProgress {
  /** Meta-iterations completed. */
  iteration: number
  iterations: number
  /** Mean query loss and accuracy (after adaptation) of this iteration's tasks. */
  loss: number
  accuracy: number
  /** The same per sandwich role. */
  roles: Partial<Record<SubnetRole, { loss: number; accuracy: number }>>
  /** Architecture ids of this iteration's tasks, in task order. */
  subnets: string[]
  elapsedMs: number
  tasksPerSecond: number
}

export interface SupernetValidationOptions {
  /** Tasks of a held-out split. */
  sampler: TaskSampler
  /** Validate every `every` iterations and at the end. */
  every: number
  tasks: number
  /** Ways of the validation tasks (default: the training way). */
  way?: number
  /** Default: the largest and the smallest sub-network of every op. */
  subnets?: { role: SubnetRole; architectureId: string }[]
}

export interface SupernetTrainOptions extends Partial<Omit<SupernetConfig, 'way' | 'shot' | 'query' | 'iterations' | 'zeroHead'>> {
  sampler: TaskSampler
  way: number
  shot: number
  query: number
  iterations: number
  /** Default: the checkpoint's on resume, else the default space at the sampler's image shape and `way` classes. */
  space?: SearchSpace
  /** Threads (default: the engine's, else 1); above 1, the tasks run in that many worker threads. */
  threads?: number
  /** Serial path: run on this engine (not disposed). */
  engine?: TrainingEngine
  /** Run on this caller-owned pool whatever `threads` says. */
  pool?: InnerLoopPool
  /** Sessions kept per engine created here (default 16, sessions.ts; they compile without graph optimisations, as measured there). */
  maxSessions?: number
  /** Save to `path` every `every` iterations (default 100) and at the end. */
  checkpoint?: { path: string; every?: number }
  /** A checkpoint (or its path) to continue from; its space and task shape must match. */
  resumeFrom?: string | SupernetCheckpoint
  validation?: SupernetValidationOptions
  onProgress?: (p: SupernetProgress) => void
  onValidation?: (v: SupernetValidation) => void
  /** Stops after the current iteration (a checkpoint is still written). */
  signal?: AbortSignal
}

type SubnetTask = NetworkTask & { queryY: Int32Array; plan: SubnetPlan; role: SubnetRole }

const CONFIG_KEYS = ['way', 'shot', 'query', 'iterations', 'innerSteps', 'innerLr', 'metaBatch', 'outerLr', 'seed', 'computeCap', 'randomReuse', 'nearUniform', 'evalSteps'] as const

/** Options given explicitly win; a resumed run takes the rest from its checkpoint, a new one from defaults. */
function configFor(opts: SupernetTrainOptions, from?: SupernetCheckpoint): SupernetConfig {
  const given: Partial<SupernetConfig> = {}
  for (const k of CONFIG_KEYS) if (opts[k] !== undefined) (given as Record<string, unknown>)[k] = opts[k]
  return resolveSupernetConfig({ ...from?.config, ...given } as SupernetConfig)
}

function spaceFor(opts: SupernetTrainOptions, from?: SupernetCheckpoint): SearchSpace {
  if (opts.space) return opts.space
  if (from) return from.space
  // Dataset samplers describe their images as {channels, height, width} (data/dataset.ts ImageShape).
  const shape = (opts.sampler as { shape?: { channels: number; height: number; width: number } }).shape
  return { ...DEFAULT_SPACE, input: shape ? { c: shape.channels, h: shape.height, w: shape.width } : { ...DEFAULT_SPACE.input }, classes: opts.way }
}

function openExecution(opts: SupernetTrainOptions, tasksPerBatch: number) {
  const created = { maxSessions: opts.maxSessions ?? SUBNET_SESSIONS, graphOptimizationLevel: SUBNET_OPTIMIZATION }
  if (opts.pool) return { runner: opts.pool as InnerLoopRunner, on: { pool: opts.pool }, close: async () => {} }
  const threads = Math.max(1, Math.floor(opts.threads ?? opts.engine?.threads ?? 1))
  if (threads > 1 && tasksPerBatch > 1) {
    const pool = new InnerLoopPool({ workers: Math.min(threads, tasksPerBatch), ...created })
    return { runner: pool as InnerLoopRunner, on: { pool }, close: () => pool.dispose() }
  }
  const engine = opts.engine ?? new TrainingEngine({ threads, ...created })
  return { runner: serialRunner(engine), on: { engine }, close: async () => (opts.engine ? undefined : engine.dispose()) }
}

export async function supernetMetaTrain(opts: SupernetTrainOptions): Promise<SupernetCheckpoint> {
  const from = typeof opts.resumeFrom === 'string' ? await loadSupernetCheckpoint(opts.resumeFrom) : opts.resumeFrom
  const config = configFor(opts, from)
  const space = spaceFor(opts, from)
  const layout = supernetLayout(space)
  let ck: SupernetCheckpoint
  if (from) {
    if (JSON.stringify(from.space) !== JSON.stringify(space)) throw SupernetCheckpointMismatch(`checkpoint space ${JSON.stringify(from.space)} differs from ${JSON.stringify(space)}`)
    if (from.config.way !== config.way || from.config.shot !== config.shot || from.config.query !== config.query)
      throw SupernetCheckpointMismatch(`checkpoint was trained ${from.config.way}-way ${from.config.shot}-shot ${from.config.query}-query`)
    ck = {
      ...from,
      config,
      params: Float32Array.from(from.params),
      adam: { m: Float32Array.from(from.adam.m), v: Float32Array.from(from.adam.v), t: from.adam.t },
      validation: [...(from.validation ?? [])],
    }
  } else {
    ck = {
      space,
      config,
      iteration: 0,
      params: initSupernetParams(layout, createRng(`${config.seed}:init`)),
      adam: createAdamState(layout.size),
      validation: [],
      trainMs: 0,
    }
  }
  const sandwich = new SandwichSampler(space, config)
  const subnets = subnetsOf(ck, config.way)
  const buffers = new LruCache<string, Float32Array>(32)
  // Zero between iterations: the Adam step resets the values it reads.
  const metaGrad = new Float32Array(layout.size)
  const adam = new LazyAdam(layout.size)
  const sampler = opts.sampler
  const every = Math.max(1, opts.checkpoint?.every ?? 100)
  const exec = openExecution(opts, config.metaBatch)

  // Sampled lazily: with workers, the next tasks are drawn (and their parameters gathered) while earlier ones run.
  function* iterationTasks(iteration: number, draws: SubnetDraw[]): Generator<SubnetTask> {
    const rng = mamlTaskRng(config.seed, iteration)
    const gathered = new Map<string, Float32Array>()
    for (const d of draws) {
      const s = subnets.get(d.arch)
      let params = gathered.get(d.id)
      if (!params) {
        params = buffers.get(d.id) ?? new Float32Array(s.plan.size)
        buffers.set(d.id, params)
        gathered.set(d.id, gatherParams(s.plan, ck.params, params))
      }
      const task = innerTaskOf(checkTask(s.net, sampler.sample(rng)))
      yield { ...task, net: s.net, params, plan: s.plan, role: d.role }
    }
  }

  const validate = async () => {
    const v = opts.validation!
    const way = v.way ?? config.way
    const targets = v.subnets ?? space.ops.flatMap((op) => [
      { role: 'largest' as const, architectureId: architectureId(sandwich.largest(op)) },
      { role: 'smallest' as const, architectureId: architectureId(sandwich.smallest(op)) },
    ])
    const result: SupernetValidation = { iteration: ck.iteration, way, tasks: v.tasks, subnets: [] }
    for (const t of targets) {
      const r = await evaluateSubnet(ck, t.architectureId, { sampler: v.sampler, way, tasks: v.tasks, ...exec.on })
      result.subnets.push({ ...t, accuracy: r.accuracy, ci95: r.ci95 })
    }
    ck.validation!.push(result)
    opts.onValidation?.(result)
  }

  const started = performance.now()
  let trainedMs = 0
  let tasksDone = 0
  try {
    while (ck.iteration < config.iterations && !opts.signal?.aborted) {
      const t0 = performance.now()
      const draws = sandwich.draws(ck.iteration)
      const sums = new Map<SubnetRole, { loss: number; accuracy: number; n: number }>()
      let loss = 0
      let accuracy = 0
      const n = await exec.runner.runEach(iterationTasks(ck.iteration, draws), { steps: config.innerSteps, lr: config.innerLr, mode: 'train' }, (r, task) => {
        scatterAdd(task.plan, r.grads, metaGrad)
        const acc = accuracyOf(r.logits, task.queryY, task.net.classes)
        loss += r.loss
        accuracy += acc
        const s = sums.get(task.role) ?? { loss: 0, accuracy: 0, n: 0 }
        s.loss += r.loss
        s.accuracy += acc
        s.n += 1
        sums.set(task.role, s)
      })
      adam.step(ck.params, metaGrad, ck.adam, { lr: config.outerLr }, new Set(draws.map((d) => subnets.get(d.arch).plan)), 1 / n)
      ck.iteration += 1
      ck.metrics = { loss: loss / n, accuracy: accuracy / n }
      tasksDone += n
      trainedMs += performance.now() - t0
      ck.trainMs = (from?.trainMs ?? 0) + trainedMs
      const roles: SupernetProgress['roles'] = {}
      for (const [role, s] of sums) roles[role] = { loss: s.loss / s.n, accuracy: s.accuracy / s.n }
      const elapsedMs = performance.now() - started
      opts.onProgress?.({
        iteration: ck.iteration,
        iterations: config.iterations,
        loss: ck.metrics.loss,
        accuracy: ck.metrics.accuracy,
        roles,
        subnets: draws.map((d) => d.id),
        elapsedMs,
        tasksPerSecond: tasksDone / (trainedMs / 1000),
      })
      const last = ck.iteration === config.iterations
      if (opts.validation && opts.validation.every > 0 && (ck.iteration % opts.validation.every === 0 || last)) await validate()
      if (opts.checkpoint && ck.iteration % every === 0 && !last) await saveSupernetCheckpoint(opts.checkpoint.path, ck)
    }
    if (opts.checkpoint) await saveSupernetCheckpoint(opts.checkpoint.path, ck)
    return ck
  } finally {
    await exec.close()
  }
}
