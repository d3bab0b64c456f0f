/**
 * `fleetnas supernet eval`: few-shot accuracy of one sub-network of a trained supernet with its
 * inherited weights (nas/supernet evaluateSubnet): the mean over sampled tasks of a held-out split
 * with its 95% confidence interval. `--arch` takes an architecture id of the space, or `largest` /
 * `smallest` (optionally `largest:dwsep` ...: the sandwich's ends, conv by default). The dataset
 * defaults to the one recorded at training.
 */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { architectureId, type BlockOp } from '@fleetnas/shared'
import type { Split } from '../../nas/data/index.ts'
import { SandwichSampler, evaluateSubnet, innerLrAt, loadSupernetCheckpoint, type SupernetCheckpoint } from '../../nas/supernet/index.ts'
import { createProgress, formatDuration } from '../progress.ts'
import { MetaCheckpointMissing, MetaOptionsInvalid, checkEvalOptions, openEvalTasks, percent, readRunRecord, type DatasetChoice, type EvalTaskOptions } from './meta-common.ts'
import { evalStepsOf } from '../../nas/maml/config.ts'

export interface SupernetEvalCommandOptions extends EvalTaskOptions {
  checkpoint: string
  arch: string
  steps?: number
  innerLr?: number
  seed?: number
  threads?: number
}

export interface SupernetEvalResult {
  checkpoint: string
  iteration: number
  architectureId: string
  dataset: DatasetChoice
  split: Split
  way: number
  shot: number
  query: number
  steps: number
  innerLr: number
  tasks: number
  accuracy: number
  ci95: number
  std: number
  seconds: number
}

/** `largest`, `smallest`, `largest:<op>` ... as the sandwich's ends; anything else is an id. */
function resolveArch(ck: SupernetCheckpoint, arch: string): string {
  const m = /^(largest|smallest)(?::(\w+))?$/.exec(arch)
  if (!m) return arch
  const op = (m[2] ?? ck.space.ops[0]) as BlockOp
  if (!ck.space.ops.includes(op)) throw MetaOptionsInvalid([`--arch ${arch}: op ${op} is not in the space (${ck.space.ops.join(', ')})`])
  const sandwich = new SandwichSampler(ck.space, ck.config)
  return architectureId(m[1] === 'largest' ? sandwich.largest(op) : sandwich.smallest(op))
}

export async function supernetEvalCommand(o: SupernetEvalCommandOptions, io: { log: (line: string) => void; tty?: boolean }): Promise<SupernetEvalResult> {
  const full = resolve(o.checkpoint)
  const st = await stat(full).catch(() => undefined)
  if (!st?.isFile()) throw MetaCheckpointMissing(full, 'fleetnas supernet train')
  const ck = await loadSupernetCheckpoint(full)
  const record = await readRunRecord(full)
  const model = { input: ck.space.input, config: ck.config, name: 'supernet' }
  const checked = checkEvalOptions(o, model, record)
  const archId = resolveArch(ck, o.arch)
  const { choice, sampler, source, split, way, shot, query, tasks } = await openEvalTasks(o, checked, model, record, io.log)
  const steps = o.steps ?? evalStepsOf(ck.config)
  const innerLr = o.innerLr ?? innerLrAt(ck, way)
  io.log(
    `evaluating ${archId} of the supernet (iteration ${ck.iteration}) on ${source} ${split} split ` +
      `(${sampler.eligibleClasses} classes): ${way}-way ${shot}-shot ${query}-query, ${tasks} tasks, ${steps} steps of lr ${innerLr}`,
  )
  const progress = createProgress({
    total: tasks,
    tty: io.tty,
    initial: { acc: '-' },
    format: 'supernet eval |{bar}| {value}/{total} tasks | acc {acc} | ETA {eta_formatted}',
    line: (value, total, p, eta) => `task ${value}/${total} | acc ${p.acc} | ETA ${formatDuration(eta)}`,
  })
  const started = performance.now()
  let r
  try {
    r = await evaluateSubnet(ck, archId, {
      sampler,
      way,
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
    checkpoint: full,
    iteration: ck.iteration,
    architectureId: r.architectureId,
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

export function describeSupernetEval(r: SupernetEvalResult): string {
  return (
    `${r.architectureId}: ${r.way}-way ${r.shot}-shot accuracy ${percent(r.accuracy)} ± ${percent(r.ci95)} (95% CI, ${r.tasks} tasks of the ${r.dataset.kind} ${r.split} split, ` +
    `${r.steps} steps, inherited weights of iteration ${r.iteration}, ${r.seconds.toFixed(1)} s)`
  )
}
