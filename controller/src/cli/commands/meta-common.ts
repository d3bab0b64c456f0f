/**
 * What the meta-learning commands (meta-train, meta-eval, adapt) share: their error catalogue,
 * opening a dataset from CLI options, reading a checkpoint with errors a user can act on, the
 * run record written beside a checkpoint, and re-sizing a meta-trained head to another way.
 *
 * The run record (`<checkpoint>.run.json`) says what the checkpoint was trained on (dataset kind,
 * path, image size, channels, ink polarity), because the checkpoint format itself holds only the
 * network and the MAML config; meta-eval and adapt read it for their defaults.
 */
import { readFile, stat, writeFile, rename } from 'node:fs/promises'
import { resolve } from 'node:path'
import { defineError } from '@fleetnas/shared'
import type { Checkpoint } from '../../nas/maml/index.ts'
import type { DatasetKind, FewShotDataset, InvertMode, OpenDatasetOptions } from '../../nas/data/index.ts'

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

export interface DatasetChoice {
  kind: DatasetKind
  /** Folder or .zip (omniglot, folder). */
  path?: string
  /** Square image side. */
  size: number
  /** folder only. */
  channels?: 1 | 3
  /** folder only. */
  invert?: InvertMode
  /** glyphs generator seed / folder split seed. */
  seed?: number
}

/** What meta-train records beside its checkpoint. */
export interface RunRecord {
  format: 'fleetnas-meta-train-run'
  version: 1
  dataset: DatasetChoice
  architectureId: string
  /** Validation results as training went. */
  validation: { iteration: number; split: string; way?: number; accuracy: number; ci95: number; tasks: number }[]
  /** Wall time of meta-training across all (resumed) sessions, without validation. */
  trainMs: number
  updatedAt: string
}

export const runRecordPath = (checkpoint: string) => `${checkpoint}.run.json`

export async function readRunRecord(checkpoint: string): Promise<RunRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(runRecordPath(checkpoint), 'utf8')) as RunRecord
    return r.format === 'fleetnas-meta-train-run' ? r : undefined
  } catch {
    return undefined
  }
}

export async function writeRunRecord(checkpoint: string, record: RunRecord): Promise<void> {
  const path = runRecordPath(checkpoint)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify({ ...record, updatedAt: new Date().toISOString() }, null, 2)}\n`)
  await rename(tmp, path)
}

export function parseInvert(v: string): InvertMode {
  if (v === 'auto') return 'auto'
  if (v === 'true') return true
  if (v === 'false') return false
  throw MetaOptionsInvalid([`--invert must be auto, true or false, got ${JSON.stringify(v)}`])
}

/** Opens the dataset, passing only the options that apply to its kind. */
export async function openChosenDataset(choice: DatasetChoice, log?: (line: string) => void): Promise<FewShotDataset> {
  const { openDataset } = await import('../../nas/data/index.ts')
  const opts: OpenDatasetOptions = { size: choice.size }
  if (choice.kind !== 'glyphs') opts.path = choice.path
  if (choice.kind === 'glyphs' && choice.seed !== undefined) opts.seed = choice.seed
  if (choice.kind === 'folder') {
    opts.channels = choice.channels ?? 1
    opts.invert = choice.invert ?? false
    if (choice.seed !== undefined) opts.seed = choice.seed
  }
  if (choice.kind !== 'glyphs' && log) {
    let shown = -1
    opts.onProgress = (done, total) => {
      const pct = Math.floor((done / Math.max(1, total)) * 10)
      if (pct > shown) {
        shown = pct
        log(`decoding ${choice.kind} images: ${done}/${total}`)
      }
    }
  }
  return openDataset(choice.kind, opts)
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

/**
 * The checkpoint with its head re-sized to `way` classes. MAML tasks draw labels in random order,
 * so the trained class columns are interchangeable: new column j starts as trained column
 * j mod K (fewer classes keep the first ones, more classes repeat them) and the inner loop makes
 * repeated columns differ, since their labels differ. (Starting every column at the mean of the
 * trained ones, the "zero trick" of Unicorn-MAML, needs a model meta-trained that way: on a
 * Conv4 meta-trained with its own head it cost 27 points at 5-way and 29 at 10-way.)
 *
 * A zero-head checkpoint (config.zeroHead) has an all-zero head, so re-sizing changes nothing but
 * the inner learning rate: the support loss is a mean over way x shot examples, so a step moves
 * each class column by about lr x its class's mean feature / way. The default inner rate is
 * scaled by way / trainWay to keep that step (and so the logits' scale) as in training. On
 * Omniglot, a Conv4 trained 20-way at lr 0.4 scored 94.9% 5-way 1-shot at lr 1.6 and 96.8% at
 * the matched 0.1.
 */
export async function withWay(ck: Checkpoint, way: number): Promise<Checkpoint> {
  if (ck.space.classes === way) return ck
  const { createNetwork } = await import('../../nas/engine/index.ts')
  const from = createNetwork(ck.arch, ck.space)
  const space = { input: { ...ck.space.input }, classes: way }
  const to = createNetwork(ck.arch, space)
  const params = new Float32Array(to.layout.size)
  for (const e of to.layout.entries) {
    const src = from.layout.byName.get(e.name)!
    const a = ck.params.subarray(src.offset, src.offset + src.size)
    const b = params.subarray(e.offset, e.offset + e.size)
    if (e.name === 'head.fc.weight') {
      // Gemm B operand: [cin, classes] row-major.
      const [cin, k] = src.dims
      for (let i = 0; i < cin; i++) for (let j = 0; j < way; j++) b[i * way + j] = a[i * k + (j % k)]
    } else if (e.name === 'head.fc.bias') {
      for (let j = 0; j < way; j++) b[j] = a[j % a.length]
    } else {
      b.set(a)
    }
  }
  const zeros = new Float32Array(to.layout.size)
  const innerLr = ck.config.zeroHead ? (ck.config.innerLr * way) / ck.space.classes : ck.config.innerLr
  return { ...ck, space, config: { ...ck.config, way, innerLr }, params, adam: { m: zeros, v: zeros, t: 0 } }
}

export function percent(v: number, digits = 2): string {
  return `${(v * 100).toFixed(digits)}%`
}
