/**
 * What the meta-learning commands (meta-train, meta-eval, adapt) share: their error catalogue,
 * checking dataset options, and reading a checkpoint with errors a user can act on. The run record
 * and re-sizing a head to another way live in nas/maml (the API runs them too); re-exported here.
 */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { DEFAULT_SPACE, defineError } from '@fleetnas/shared'
import type { Checkpoint } from '../../nas/maml/index.ts'
import { createTaskSampler, type DatasetKind, type DatasetTaskSampler, type InvertMode, type Split } from '../../nas/data/index.ts'
import { openChosenDataset, type DatasetChoice, type RunRecord } from '../../nas/maml/run-record.ts'

export { openChosenDataset, readRunRecord, runRecordPath, writeRunRecord, type DatasetChoice, type RunRecord } from '../../nas/maml/run-record.ts'
export { withWay } from '../../nas/maml/with-way.ts'

export const MetaCheckpointMissing = defineError(
  'FLEETNAS_ERR_CLI_CHECKPOINT_MISSING',
  404,
  (path: string, writer = 'fleetnas meta-train') => `checkpoint not found: ${path} (write one with \`${writer} --out ${path}\`)`,
)
export const MetaCheckpointExists = defineError(
  'FLEETNAS_ERR_CLI_CHECKPOINT_EXISTS',
  409,
  (path: string) => `${path} already exists: pass --resume to continue that run or --force to start over and replace it`,
)
export const MetaOptionsInvalid = defineError(
  'FLEETNAS_ERR_CLI_META_OPTIONS',
  400,
  (problems: string[]) => `invalid options: ${problems.join('; ')}`,
)






export function parseInvert(v: string): InvertMode {
  if (v === 'auto') return 'auto'
  if (v === 'true') return true
  if (v === 'false') return false
  throw MetaOptionsInvalid([`--invert must be auto, true or false, got ${JSON.stringify(v)}`])
}


/** Checks the dataset choice (every problem at once) before anything slow happens. */
export function checkDatasetChoice(kind: string | undefined, path: string | undefined, problems: string[]): DatasetKind | undefined {
  const kinds = ['glyphs', 'omniglot', 'folder']
  if (kind === undefined) {
    problems.push('--dataset is required (glyphs, omniglot or folder)')
    return undefined
  }
  if (!kinds.includes(kind)) {
    problems.push(`--dataset must be glyphs, omniglot or folder, got ${JSON.stringify(kind)}`)
    return undefined
  }
  if (kind !== 'glyphs' && !path) problems.push(`--dataset ${kind} needs --data <folder or .zip>`)
  if (kind === 'glyphs' && path) problems.push('--data does not apply to --dataset glyphs (it is generated)')
  return kind as DatasetKind
}

/** Loads a checkpoint: a missing file is "not found" (exit 3), an unreadable one keeps the MAML code. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const full = resolve(path)
  const st = await stat(full).catch(() => undefined)
  if (!st || !st.isFile()) throw MetaCheckpointMissing(full)
  const { loadCheckpoint } = await import('../../nas/maml/index.ts')
  return loadCheckpoint(full)
}


export function percent(v: number, digits = 2): string {
  return `${(v * 100).toFixed(digits)}%`
}

/** The options meta-eval and supernet eval share: where the tasks come from and their shape. */
export interface EvalTaskOptions {
  dataset?: string
  data?: string
  way?: number
  shot?: number
  query?: number
  tasks?: number
  split?: string
  invert?: InvertMode
}

/** What is evaluated: its input, its training task shape, and a name for messages. */
export interface EvalModel {
  input: { c: number; h: number }
  config: { way: number; shot: number; query: number }
  /** e.g. "checkpoint", "supernet" */
  name: string
}

export interface CheckedEvalOptions {
  kind: DatasetKind
  path?: string
  tasks: number
  way: number
}

/** Checks the options against the model and its run record, every problem at once, before anything slow. */
export function checkEvalOptions(o: EvalTaskOptions, model: EvalModel, record: RunRecord | undefined): CheckedEvalOptions {
  const problems: string[] = []
  const kindGiven = o.dataset ?? record?.dataset.kind
  const path = o.data ?? (o.dataset === undefined ? record?.dataset.path : undefined)
  if (kindGiven === undefined) problems.push(`--dataset is required (the checkpoint has no run record saying what it was trained on)`)
  const kind = kindGiven === undefined ? undefined : checkDatasetChoice(kindGiven, path, problems)
  if (o.split !== undefined && o.split !== 'val' && o.split !== 'test' && o.split !== 'train') problems.push(`--split must be val, test or train, got ${JSON.stringify(o.split)}`)
  const { c } = model.input
  if (kind !== undefined && kind !== 'folder' && c !== 1) problems.push(`the ${model.name} takes ${c}-channel images but ${kind} images are grey; use --dataset folder`)
  if (kind !== 'folder' && o.invert !== undefined) problems.push('--invert applies to --dataset folder only')
  const tasks = o.tasks ?? 600
  if (tasks < 1) problems.push('--tasks must be >= 1')
  const way = o.way ?? model.config.way
  if (way < 2) problems.push('--way must be >= 2')
  if (problems.length > 0) throw MetaOptionsInvalid(problems)
  return { kind: kind!, ...(path !== undefined && { path }), tasks, way }
}

export interface EvalTasks {
  choice: DatasetChoice
  sampler: DatasetTaskSampler
  /** The dataset's description of itself, for logs. */
  source: string
  split: Split
  way: number
  shot: number
  query: number
  tasks: number
}

/** Opens the dataset the checked options name and a sampler of evaluation tasks (test split when it has enough classes). */
export async function openEvalTasks(o: EvalTaskOptions, checked: CheckedEvalOptions, model: EvalModel, record: RunRecord | undefined, log: (line: string) => void): Promise<EvalTasks> {
  const { kind, path, way, tasks } = checked
  const { c, h } = model.input
  const choice: DatasetChoice = {
    kind,
    path: path === undefined ? undefined : resolve(path),
    size: h,
    ...(kind === 'folder' ? { channels: c as 1 | 3, invert: o.invert ?? record?.dataset.invert ?? false } : {}),
  }
  const dataset = await openChosenDataset(choice, log)
  const shot = o.shot ?? model.config.shot
  const query = o.query ?? model.config.query
  const description = dataset.describe()
  const split = (o.split ?? (description.splits.test.classes >= way ? 'test' : 'val')) as Split
  const sampler = createTaskSampler(dataset, { way, shot, query, split })
  return { choice, sampler, source: description.source, split, way, shot, query, tasks }
}

/** The dataset a run reads: the path absolute, channels and ink polarity only for class folders. */
export function datasetChoiceOf(kind: DatasetKind, path: string | undefined, size: number, channels: number, invert: InvertMode | undefined, record: RunRecord | undefined): DatasetChoice {
  return {
    kind,
    path: path === undefined ? undefined : resolve(path),
    size,
    ...(kind === 'folder' ? { channels: channels as 1 | 3, invert: invert ?? record?.dataset.invert ?? false } : {}),
  }
}

/** The options meta-train and supernet train share: the data, its image shape, the run length, validation. */
export interface TrainDataOptions {
  dataset?: string
  data?: string
  size?: number
  channels?: number
  invert?: InvertMode
  iterations?: number
  valEvery?: number
  valTasks?: number
  valWay?: number
}

export interface CheckedTrainData {
  kind: DatasetKind | undefined
  path?: string
  size: number
  channels: number
  iterations: number | undefined
  valEvery: number
  valTasks: number
}

/**
 * Checks the shared training options against what a resumed run (or a starting checkpoint) and its
 * run record say, adding every problem to `problems` (the caller throws once, with its own).
 */
export function checkTrainData(
  o: TrainDataOptions,
  record: RunRecord | undefined,
  base: { input?: { h: number; c: number }; iterations?: number },
  problems: string[],
): CheckedTrainData {
  const kindGiven = o.dataset ?? record?.dataset.kind
  const path = o.data ?? (o.dataset === undefined ? record?.dataset.path : undefined)
  const kind = checkDatasetChoice(kindGiven, path, problems)
  const size = o.size ?? base.input?.h ?? DEFAULT_SPACE.input.h
  const channels = o.channels ?? base.input?.c ?? 1
  if (channels !== 1 && channels !== 3) problems.push(`--channels must be 1 or 3, got ${channels}`)
  if (kind !== 'folder' && channels !== 1) problems.push(`--channels applies to --dataset folder only (${kind} images are grey)`)
  if (kind !== 'folder' && o.invert !== undefined) problems.push(`--invert applies to --dataset folder only (${kind} images already have ink = 1)`)
  const iterations = o.iterations ?? base.iterations
  if (iterations === undefined) problems.push('--iterations is required')
  const valEvery = o.valEvery ?? 0
  const valTasks = o.valTasks ?? 100
  if (valEvery > 0 && valTasks < 1) problems.push('--val-tasks must be >= 1')
  if (o.valWay !== undefined && o.valWay < 2) problems.push('--val-way must be >= 2')
  return { kind, ...(path !== undefined && { path }), size, channels, iterations, valEvery, valTasks }
}
