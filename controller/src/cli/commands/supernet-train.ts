/**
 * `fleetnas supernet train`: sandwich-rule MAML meta-training of a supernet over the default
 * search space (nas/supernet) on a few-shot dataset, with a progress bar on stderr (loss and
 * accuracy overall and of the largest and smallest sub-network), checkpoints every
 * `checkpointEvery` iterations and at the end, optional validation of the sandwich's ends, and
 * `--resume [FILE]` to continue a run (default: the one at `--out`). Ctrl-C stops after the current
 * iteration and writes the checkpoint first. The dataset is recorded beside the checkpoint
 * (meta-common.ts run record) for `supernet eval`.
 */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { DEFAULT_SPACE } from '@fleetnas/shared'
import { createTaskSampler, type FewShotDataset, type InvertMode } from '../../nas/data/index.ts'
import { loadSupernetCheckpoint, supernetMetaTrain, type SupernetCheckpoint, type SupernetValidation } from '../../nas/supernet/index.ts'
import { createProgress, formatDuration } from '../progress.ts'
import {
  MetaCheckpointExists,
  MetaCheckpointMissing,
  MetaOptionsInvalid,
  checkTrainData,
  datasetChoiceOf,
  openChosenDataset,
  percent,
  readRunRecord,
  writeRunRecord,
  type DatasetChoice,
  type RunRecord,
} from './meta-common.ts'

export interface SupernetTrainCommandOptions {
  dataset?: string
  data?: string
  way?: number
  shot?: number
  query?: number
  iterations?: number
  innerSteps?: number
  innerLr?: number
  metaBatch?: number
  outerLr?: number
  seed?: number
  computeCap?: number
  randomReuse?: number
  nearUniform?: number
  threads?: number
  out: string
  /** true: continue the run at --out; a path: continue that run, writing to --out. */
  resume?: boolean | string
  force?: boolean
  checkpointEvery?: number
  /** Validate the largest and smallest sub-networks every N iterations (and at the end); 0 = never. */
  valEvery?: number
  valTasks?: number
  valWay?: number
  size?: number
  channels?: number
  invert?: InvertMode
}

export interface SupernetTrainSummary {
  checkpoint: string
  dataset: DatasetChoice
  way: number
  shot: number
  query: number
  iteration: number
  iterations: number
  /** Means over the last up to 50 iterations of this session (query, after adaptation). */
  trainLoss?: number
  trainAccuracy?: number
  largestAccuracy?: number
  smallestAccuracy?: number
  trainSeconds: number
  validation?: SupernetValidation
  interrupted: boolean
}

export interface SupernetTrainIo {
  log: (line: string) => void
  signal?: AbortSignal
  tty?: boolean
}

const WINDOW = 50

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  )
}

export async function supernetTrainCommand(o: SupernetTrainCommandOptions, io: SupernetTrainIo): Promise<SupernetTrainSummary> {
  const out = resolve(o.out)
  const problems: string[] = []
  let from: SupernetCheckpoint | undefined
  let record: RunRecord | undefined
  if (o.resume !== undefined && o.resume !== false) {
    if (o.force) problems.push('--resume and --force exclude each other')
    const source = o.resume === true ? out : resolve(o.resume)
    if (!(await isFile(source))) throw MetaCheckpointMissing(source, 'fleetnas supernet train')
    from = await loadSupernetCheckpoint(source)
    record = await readRunRecord(source)
    if (source !== out && (await isFile(out)) && !o.force) throw MetaCheckpointExists(out)
  } else if ((await isFile(out)) && !o.force) {
    throw MetaCheckpointExists(out)
  }

  const { kind, path, size, channels, iterations, valEvery, valTasks } = checkTrainData(o, record, { input: from?.space.input, iterations: from?.config.iterations }, problems)
  if (problems.length > 0) throw MetaOptionsInvalid(problems)

  const way = o.way ?? from?.config.way ?? 5
  const shot = o.shot ?? from?.config.shot ?? 1
  const query = o.query ?? from?.config.query ?? 15
  const choice = datasetChoiceOf(kind!, path, size, channels, o.invert, record)
  const dataset = await openChosenDataset(choice, io.log)
  const sampler = createTaskSampler(dataset, { way, shot, query, split: 'train' })
  const valWay = o.valWay ?? way
  const valSampler = valEvery > 0 ? validationSampler(dataset, valWay, shot, query, io.log) : undefined
  const space = { ...DEFAULT_SPACE, input: { c: dataset.shape.channels, h: dataset.shape.height, w: dataset.shape.width }, classes: way }
  const run: RunRecord = { format: 'fleetnas-meta-train-run', version: 1, dataset: choice, architectureId: 'supernet', validation: [], trainMs: from?.trainMs ?? 0, updatedAt: '' }

  const startIteration = from?.iteration ?? 0
  io.log(
    `meta-training a supernet over the default space on ${dataset.describe().source} (${kind}, train split: ${sampler.eligibleClasses} classes), ` +
      `${way}-way ${shot}-shot ${query}-query, iterations ${startIteration} -> ${iterations}, ${o.threads ?? 1} thread(s)`,
  )
  const progress = createProgress({
    total: iterations!,
    start: startIteration,
    tty: io.tty,
    initial: { loss: '-', acc: '-', large: '-', small: '-', rate: '-' },
    format: 'supernet |{bar}| {value}/{total} it | loss {loss} | acc {acc} | largest {large} | smallest {small} | {rate} | ETA {eta_formatted}',
    line: (value, total, p, eta) => `iteration ${value}/${total} | loss ${p.loss} | acc ${p.acc} | largest ${p.large} | smallest ${p.small} | ${p.rate} | ETA ${formatDuration(eta)}`,
  })
  const recent: { loss: number; accuracy: number; largest?: number; smallest?: number }[] = []
  let ck: SupernetCheckpoint
  try {
    ck = await supernetMetaTrain({
      sampler,
      space,
      way,
      shot,
      query,
      iterations: iterations!,
      innerSteps: o.innerSteps,
      innerLr: o.innerLr,
      metaBatch: o.metaBatch,
      outerLr: o.outerLr,
      seed: o.seed,
      computeCap: o.computeCap,
      randomReuse: o.randomReuse,
      nearUniform: o.nearUniform,
      threads: o.threads ?? 1,
      resumeFrom: from,
      checkpoint: { path: out, every: o.checkpointEvery ?? 100 },
      validation: valSampler ? { sampler: valSampler, every: valEvery, tasks: valTasks, way: valWay } : undefined,
      signal: io.signal,
      onProgress: (p) => {
        recent.push({ loss: p.loss, accuracy: p.accuracy, largest: p.roles.largest?.accuracy, smallest: p.roles.smallest?.accuracy })
        if (recent.length > WINDOW) recent.shift()
        const m = windowMeans(recent)
        progress.update(p.iteration, {
          loss: m.loss.toFixed(3),
          acc: percent(m.accuracy, 1),
          large: m.largest === undefined ? '-' : percent(m.largest, 1),
          small: m.smallest === undefined ? '-' : percent(m.smallest, 1),
          rate: `${(p.tasksPerSecond).toFixed(2)} tasks/s`,
        })
      },
      onValidation: (v) => progress.log(describeValidation(v)),
    })
  } finally {
    progress.stop()
  }
  run.trainMs = ck.trainMs ?? 0
  await writeRunRecord(out, run)
  const m = recent.length > 0 ? windowMeans(recent) : undefined
  return {
    checkpoint: out,
    dataset: choice,
    way,
    shot,
    query,
    iteration: ck.iteration,
    iterations: iterations!,
    trainLoss: m?.loss,
    trainAccuracy: m?.accuracy,
    largestAccuracy: m?.largest,
    smallestAccuracy: m?.smallest,
    trainSeconds: run.trainMs / 1000,
    validation: ck.validation?.at(-1),
    interrupted: ck.iteration < iterations!,
  }
}

function validationSampler(dataset: FewShotDataset, way: number, shot: number, query: number, log: (l: string) => void) {
  try {
    return createTaskSampler(dataset, { way, shot, query, split: 'val' })
  } catch (e) {
    log(`no validation: ${(e as Error).message}`)
    return undefined
  }
}

function windowMeans(rows: { loss: number; accuracy: number; largest?: number; smallest?: number }[]) {
  const mean = (vs: (number | undefined)[]) => {
    const xs = vs.filter((v): v is number => v !== undefined)
    return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length
  }
  return {
    loss: mean(rows.map((r) => r.loss))!,
    accuracy: mean(rows.map((r) => r.accuracy))!,
    largest: mean(rows.map((r) => r.largest)),
    smallest: mean(rows.map((r) => r.smallest)),
  }
}

export function describeValidation(v: SupernetValidation): string {
  const rows = v.subnets.map((s) => `  ${s.role.padEnd(8)} ${percent(s.accuracy)} ± ${percent(s.ci95)}  ${s.architectureId}`)
  return [`validation at iteration ${v.iteration} (${v.tasks} ${v.way}-way val tasks):`, ...rows].join('\n')
}

export function describeSupernetTrain(s: SupernetTrainSummary): string {
  const lines = [
    `${s.interrupted ? 'interrupted' : 'meta-trained'} supernet on ${s.dataset.kind}: ${s.way}-way ${s.shot}-shot, iteration ${s.iteration}/${s.iterations}, ` +
      `train time ${formatDuration(s.trainSeconds)}`,
  ]
  if (s.trainAccuracy !== undefined) {
    const ends = [s.largestAccuracy === undefined ? '' : `largest ${percent(s.largestAccuracy)}`, s.smallestAccuracy === undefined ? '' : `smallest ${percent(s.smallestAccuracy)}`]
      .filter(Boolean)
      .join(', ')
    lines.push(`query accuracy after adaptation (last ${WINDOW} iterations): ${percent(s.trainAccuracy)} (${ends}), loss ${s.trainLoss!.toFixed(3)}`)
  }
  if (s.validation) lines.push(describeValidation(s.validation))
  lines.push(`checkpoint: ${s.checkpoint}${s.interrupted ? ' (continue with --resume)' : ''}`)
  return lines.join('\n')
}
