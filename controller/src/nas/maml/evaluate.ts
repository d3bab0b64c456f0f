/**
 * Few-shot evaluation of a meta-trained initialisation: for each of `tasks` sampled tasks, adapt on
 * the support set (`innerSteps` SGD steps, one session run) and score the query set. Reports the
 * mean accuracy with a 95% confidence interval (1.96 * sample std / sqrt(tasks)), as few-shot
 * papers do over >= 600 tasks.
 */
import { evalStepsOf } from './config.ts'
import { createRng } from '@fleetnas/shared'
import type { TaskSampler } from '../data/tasks.ts'
import { createNetwork, type InnerTask, type TrainingEngine } from '../engine/engine.ts'
import type { InnerLoopPool } from '../engine/inner-loop-pool.ts'
import type { Checkpoint } from './checkpoint.ts'
import { accuracyOf, checkTask } from './meta-train.ts'
import { MamlConfigInvalid } from './errors.ts'
import { openRunner, type RunnerOptions } from './runner.ts'

export interface EvaluateOptions extends RunnerOptions {
  /** Default 600. */
  tasks?: number
  /** Default: the steps the checkpoint was validated with (evalSteps, else innerSteps). */
  innerSteps?: number
  /** Default: the checkpoint's innerLr. */
  innerLr?: number
  /** Default 0. Evaluation tasks come from `${seed}:eval`, apart from training's. */
  seed?: number
  /** Threads (default: the engine's, else 1); above 1, tasks run in that many worker threads. */
  threads?: number
  /** Serial path: run on this engine (not disposed). */
  engine?: TrainingEngine
  /** Run on this caller-owned worker pool whatever `threads` says. */
  pool?: InnerLoopPool
  onProgress?: (done: number, total: number, meanAccuracy: number) => void
}

export interface EvaluateResult {
  /** Mean query accuracy over tasks, in [0, 1]. */
  accuracy: number
  /** Half-width of the 95% confidence interval of the mean. */
  ci95: number
  std: number
  tasks: number
}

export function meanAndCi95(values: number[]): { mean: number; std: number; ci95: number } {
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, n)
  const variance = n > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0
  const std = Math.sqrt(variance)
  return { mean, std, ci95: n > 0 ? (1.96 * std) / Math.sqrt(n) : 0 }
}

export async function metaEvaluate(ck: Checkpoint, sampler: TaskSampler, opts: EvaluateOptions = {}): Promise<EvaluateResult> {
  const tasks = opts.tasks ?? 600
  const steps = opts.innerSteps ?? evalStepsOf(ck.config)
  const lr = opts.innerLr ?? ck.config.innerLr
  const problems: string[] = []
  if (!Number.isInteger(tasks) || tasks < 1) problems.push(`tasks must be an integer >= 1, got ${tasks}`)
  if (!Number.isInteger(steps) || steps < 0) problems.push(`innerSteps must be an integer >= 0, got ${steps}`)
  if (!(lr >= 0)) problems.push(`innerLr must be >= 0, got ${lr}`)
  if (problems.length > 0) throw MamlConfigInvalid(problems)
  const net = createNetwork(ck.arch, ck.space)
  const rng = createRng(`${opts.seed ?? 0}:eval`)
  // Sampled lazily in task order (the pool keeps only a few in flight); results come back in order.
  function* sampled(): Generator<InnerTask & { labels: Int32Array }> {
    for (let i = 0; i < tasks; i++) {
      const task = checkTask(net, sampler.sample(rng))
      yield { supportX: task.support.x, supportY: task.support.y, queryX: task.queryset.x, labels: task.queryset.y }
    }
  }
  const accs: number[] = []
  let sum = 0
  const { runner, close } = openRunner(opts, tasks)
  try {
    await runner.run(net, ck.params, sampled(), { steps, lr, mode: 'eval' }, (r, task) => {
      const acc = accuracyOf(r.logits, task.labels, net.classes)
      accs.push(acc)
      sum += acc
      opts.onProgress?.(accs.length, tasks, sum / accs.length)
    })
  } finally {
    await close()
  }
  const { mean, std, ci95 } = meanAndCi95(accs)
  return { accuracy: mean, ci95, std, tasks }
}
