/**
 * First-order MAML meta-training. Each meta-iteration samples `metaBatch` tasks; for each, the
 * engine runs the whole inner loop (`innerSteps` SGD steps on the support set) and the query pass
 * in one session run and returns the query-loss gradient at the adapted parameters; their mean is
 * the meta-gradient for an Adam step on the shared initialisation.
 *
 * With `threads` > 1 the meta-batch's tasks run side by side in worker threads (runner.ts), one
 * single-threaded engine each; their gradients are summed here in task order, the same sum, in the
 * same order, as the serial path at one thread, so the result is bit-identical to it (the serial
 * path at several intra-op threads may differ from both in the last bits: ONNX Runtime's own
 * threading changes its summation order).
 *
 * Randomness is derived per iteration from the seed (`${seed}:iter:${i}`), so a run resumed from a
 * checkpoint samples exactly the tasks the uninterrupted run would have.
 */
import { architectureId, createRng, DEFAULT_SPACE, type Architecture } from '@fleetnas/shared'
import type { TaskSampler, FewShotTask } from '../data/tasks.ts'
import { createNetwork, type InnerTask, type Network, type TrainingEngine } from '../engine/engine.ts'
import type { InnerLoopPool } from '../engine/inner-loop-pool.ts'
import type { InnerLoopRunner } from '../engine/inner-loop-runner.ts'
import { initParams, paramView, type ParamLayout, type SpaceIO } from '../engine/param-layout.ts'
import { adamStep, createAdamState } from './adam.ts'
import { resolveMamlConfig, type MamlConfig } from './config.ts'
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint.ts'
import { CheckpointMismatch, TaskShapeMismatch } from './errors.ts'
import { openRunner } from './runner.ts'

export interface MetaTrainProgress {
  /** Meta-iterations completed (1-based after the first). */
  iteration: number
  iterations: number
  /** Mean query loss of this iteration's tasks (after adaptation). */
  loss: number
  /** Mean query accuracy of this iteration's tasks (after adaptation). */
  accuracy: number
  elapsedMs: number
  tasksPerSecond: number
}

export interface MetaTrainOptions extends Partial<Omit<MamlConfig, 'way' | 'shot' | 'query' | 'iterations'>> {
  arch: Architecture
  sampler: TaskSampler
  iterations: number
  way: number
  shot: number
  query: number
  /**
   * Threads (default: the engine's, else 1). Above 1, the meta-batch's tasks run in that many
   * worker threads (terminated when the call returns, also on abort or error).
   */
  threads?: number
  /** Input shape and classes; default: the sampler's image shape (or 28x28x1) and `way` classes. */
  space?: SpaceIO
  /** Save to `path` every `every` iterations (default 100) and at the end. */
  checkpoint?: { path: string; every?: number }
  /** A checkpoint (or its path) to continue from; its architecture and task shape must match. */
  resumeFrom?: string | Checkpoint
  onProgress?: (p: MetaTrainProgress) => void
  /** Stops after the current iteration (a checkpoint is still written). */
  signal?: AbortSignal
  /** Share sessions with other work (serial path); otherwise one is created and disposed. */
  engine?: TrainingEngine
  /** Run tasks on this caller-owned worker pool (kept alive across calls) whatever `threads` says. */
  pool?: InnerLoopPool
}

export function mamlTaskRng(seed: number, iteration: number) {
  return createRng(`${seed}:iter:${iteration}`)
}

/** Checks a sampled task against the network; returns it unchanged. */
export function checkTask(net: Network, task: FewShotTask): FewShotTask {
  const problems: string[] = []
  if (task.way !== net.classes) problems.push(`way ${task.way} but the head has ${net.classes} classes`)
  if (task.support.x.length !== task.support.y.length * net.imageSize)
    problems.push(`support x holds ${task.support.x.length} values for ${task.support.y.length} images of ${net.imageSize}`)
  if (task.queryset.x.length !== task.queryset.y.length * net.imageSize)
    problems.push(`query x holds ${task.queryset.x.length} values for ${task.queryset.y.length} images of ${net.imageSize}`)
  if (problems.length > 0) throw TaskShapeMismatch(problems.join('; '))
  return task
}

export function accuracyOf(logits: Float32Array, labels: Int32Array, classes: number): number {
  let correct = 0
  for (let i = 0; i < labels.length; i++) {
    let best = 0
    for (let k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k
    if (best === labels[i]) correct++
  }
  return labels.length === 0 ? 0 : correct / labels.length
}

/** A task as the inner loop needs it, with the query labels the meta-gradient needs. */
export type LabelledTask = InnerTask & { queryY: Int32Array }

export function innerTaskOf(task: FewShotTask): LabelledTask {
  return { supportX: task.support.x, supportY: task.support.y, queryX: task.queryset.x, queryY: task.queryset.y }
}

/**
 * The first-order MAML meta-gradient at `params`: the mean over `tasks` of the query-loss gradient
 * after `steps` inner SGD steps, written into `out`; also the tasks' mean query loss and accuracy.
 * Gradients are summed in task order whichever runner computes them.
 */
export async function metaGradient(
  runner: InnerLoopRunner,
  net: Network,
  params: Float32Array,
  tasks: Iterable<LabelledTask>,
  opts: { steps: number; lr: number },
  out: Float32Array = new Float32Array(net.layout.size),
): Promise<{ grads: Float32Array; loss: number; accuracy: number }> {
  out.fill(0)
  let loss = 0
  let acc = 0
  const n = await runner.run(net, params, tasks, { steps: opts.steps, lr: opts.lr, mode: 'train' }, (r, task) => {
    for (let i = 0; i < out.length; i++) out[i] += r.grads[i]
    loss += r.loss
    acc += accuracyOf(r.logits, task.queryY, net.classes)
  })
  for (let i = 0; i < out.length; i++) out[i] /= n
  return { grads: out, loss: loss / n, accuracy: acc / n }
}

/** Sets the classifier's weight and bias to zero (the zeroing trick, config.zeroHead). */
function zeroHeadParams(layout: ParamLayout, params: Float32Array): void {
  paramView(layout, params, 'head.fc.weight').fill(0)
  paramView(layout, params, 'head.fc.bias').fill(0)
}

function spaceFor(opts: MetaTrainOptions): SpaceIO {
  if (opts.space) return opts.space
  // Dataset samplers describe their images as {channels, height, width} (data/dataset.ts ImageShape).
  const shape = (opts.sampler as { shape?: { channels: number; height: number; width: number } }).shape
  return { input: shape ? { c: shape.channels, h: shape.height, w: shape.width } : { ...DEFAULT_SPACE.input }, classes: opts.way }
}

const CONFIG_KEYS = ['way', 'shot', 'query', 'iterations', 'innerSteps', 'innerLr', 'metaBatch', 'outerLr', 'seed', 'zeroHead', 'evalSteps'] as const

/** Options given explicitly win; a resumed run takes the rest from its checkpoint, a new one from defaults. */
function configFor(opts: MetaTrainOptions, from?: Checkpoint): MamlConfig {
  const given: Partial<MamlConfig> = {}
  for (const k of CONFIG_KEYS) if (opts[k] !== undefined) (given as Record<string, unknown>)[k] = opts[k]
  return resolveMamlConfig({ ...from?.config, ...given } as MamlConfig)
}

export async function metaTrain(opts: MetaTrainOptions): Promise<Checkpoint> {
  const from = opts.resumeFrom === undefined ? undefined : typeof opts.resumeFrom === 'string' ? await loadCheckpoint(opts.resumeFrom) : opts.resumeFrom
  const config = configFor(opts, from)
  const space = spaceFor(opts)
  const net = createNetwork(opts.arch, space)
  let ck: Checkpoint
  if (from !== undefined) {
    const id = architectureId(opts.arch)
    if (from.architectureId !== id) throw CheckpointMismatch(`checkpoint is for ${from.architectureId}, not ${id}`)
    if (JSON.stringify(from.space) !== JSON.stringify(net.space)) throw CheckpointMismatch(`checkpoint space ${JSON.stringify(from.space)} differs from ${JSON.stringify(net.space)}`)
    if (from.config.way !== config.way || from.config.shot !== config.shot || from.config.query !== config.query)
      throw CheckpointMismatch(`checkpoint was trained ${from.config.way}-way ${from.config.shot}-shot ${from.config.query}-query`)
    ck = { ...from, config, params: Float32Array.from(from.params), adam: { m: Float32Array.from(from.adam.m), v: Float32Array.from(from.adam.v), t: from.adam.t } }
  } else {
    ck = {
      architectureId: net.id,
      arch: opts.arch,
      space: net.space,
      config,
      iteration: 0,
      params: initParams(net.layout, createRng(`${config.seed}:init`)),
      adam: createAdamState(net.layout.size),
    }
  }
  if (config.zeroHead) zeroHeadParams(net.layout, ck.params)
  const { runner, close } = openRunner(opts, config.metaBatch)
  const every = Math.max(1, opts.checkpoint?.every ?? 100)
  const metaGrad = new Float32Array(net.layout.size)
  const started = performance.now()
  let tasksDone = 0
  const sampler = opts.sampler
  // Sampled lazily: with workers, the next tasks are drawn while earlier ones run.
  function* iterationTasks(iteration: number): Generator<LabelledTask> {
    const rng = mamlTaskRng(config.seed, iteration)
    for (let b = 0; b < config.metaBatch; b++) yield innerTaskOf(checkTask(net, sampler.sample(rng)))
  }
  try {
    while (ck.iteration < config.iterations && !opts.signal?.aborted) {
      const { loss, accuracy } = await metaGradient(runner, net, ck.params, iterationTasks(ck.iteration), { steps: config.innerSteps, lr: config.innerLr }, metaGrad)
      adamStep(ck.params, metaGrad, ck.adam, { lr: config.outerLr })
      if (config.zeroHead) zeroHeadParams(net.layout, ck.params)
      ck.iteration += 1
      tasksDone += config.metaBatch
      ck.metrics = { loss, accuracy }
      const elapsedMs = performance.now() - started
      opts.onProgress?.({
        iteration: ck.iteration,
        iterations: config.iterations,
        loss: ck.metrics.loss,
        accuracy: ck.metrics.accuracy,
        elapsedMs,
        tasksPerSecond: tasksDone / (elapsedMs / 1000),
      })
      if (opts.checkpoint && ck.iteration % every === 0 && ck.iteration < config.iterations) await saveCheckpoint(opts.checkpoint.path, ck)
    }
    if (opts.checkpoint) await saveCheckpoint(opts.checkpoint.path, ck)
    return ck
  } finally {
    await close()
  }
}
