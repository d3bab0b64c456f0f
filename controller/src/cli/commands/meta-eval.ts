/**
 * `fleetnas meta-eval`: few-shot accuracy of a meta-trained checkpoint as the mean over sampled
 * tasks of a held-out split, with its 95% confidence interval (the way few-shot papers report it,
 * over >= 600 tasks). The dataset defaults to the one recorded at meta-training; the way may
 * differ from training (the head is re-sized, see withWay).
 */
import { evalStepsOf } from '../../nas/maml/config.ts'
import type { Split } from '../../nas/data/index.ts'
import { metaEvaluate } from '../../nas/maml/index.ts'
import { createProgress, formatDuration } from '../progress.ts'
import { checkEvalOptions, openEvalTasks, percent, readCheckpoint, readRunRecord, withWay, type DatasetChoice, type EvalTaskOptions } from './meta-common.ts'
import { resolve } from 'node:path'

export interface MetaEvalCommandOptions extends EvalTaskOptions {
  checkpoint: string
  /** Inner-loop steps; default the steps the checkpoint was validated with. */
  steps?: number
  innerLr?: number
  seed?: number
  threads?: number
}

export interface MetaEvalResult {
  checkpoint: string
  architectureId: string
  iteration: number
  dataset: DatasetChoice
  split: Split
  way: number
  shot: number
  query: number
  steps: number
  innerLr: number
  tasks: number
  /** Mean query accuracy in [0, 1] and the half-width of its 95% CI. */
  accuracy: number
  ci95: number
  std: number
  seconds: number
}

export async function metaEvalCommand(o: MetaEvalCommandOptions, io: { log: (line: string) => void; tty?: boolean }): Promise<MetaEvalResult> {
  const ck0 = await readCheckpoint(o.checkpoint)
  const record = await readRunRecord(resolve(o.checkpoint))
  const model = { input: ck0.space.input, config: ck0.config, name: 'checkpoint' }
  const { choice, sampler, source, split, way, shot, query, tasks } = await openEvalTasks(o, checkEvalOptions(o, model, record), model, record, io.log)
  const ck = await withWay(ck0, way)
  const steps = o.steps ?? evalStepsOf(ck.config)
  const innerLr = o.innerLr ?? ck.config.innerLr
  io.log(
    `evaluating ${ck.architectureId} (iteration ${ck.iteration}) on ${source} ${split} split ` +
      `(${sampler.eligibleClasses} classes): ${way}-way ${shot}-shot ${query}-query, ${tasks} tasks, ${steps} steps of lr ${innerLr}`,
  )
  const progress = createProgress({
    total: tasks,
    tty: io.tty,
    initial: { acc: '-' },
    format: 'meta-eval |{bar}| {value}/{total} tasks | acc {acc} | ETA {eta_formatted}',
    line: (value, total, p, eta) => `task ${value}/${total} | acc ${p.acc} | ETA ${formatDuration(eta)}`,
  })
  const started = performance.now()
  let r
  try {
    r = await metaEvaluate(ck, sampler, {
      tasks,
      innerSteps: steps,
      innerLr,
      seed: o.seed ?? 0,
      threads: o.threads ?? 1,
      onProgress: (done, _total, mean) => progress.update(done, { acc: percent(mean, 1) }),
    })
  } finally {
    progress.stop()
  }
  return {
    checkpoint: resolve(o.checkpoint),
    architectureId: ck.architectureId,
    iteration: ck.iteration,
    dataset: choice,
    split,
    way,
    shot,
    query,
    steps,
    innerLr,
    tasks: r.tasks,
    accuracy: r.accuracy,
    ci95: r.ci95,
    std: r.std,
    seconds: (performance.now() - started) / 1000,
  }
}

export function describeMetaEval(r: MetaEvalResult): string {
  return (
    `${r.way}-way ${r.shot}-shot accuracy: ${percent(r.accuracy)} ± ${percent(r.ci95)} (95% CI, ${r.tasks} tasks of the ${r.dataset.kind} ${r.split} split, ` +
    `${r.steps} steps, ${r.seconds.toFixed(1)} s)`
  )
}
