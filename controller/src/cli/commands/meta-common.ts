/**
 * What the meta-learning commands (meta-train, meta-eval, adapt) share: their error catalogue,
 * checking dataset options, and reading a checkpoint with errors a user can act on. The run record
 * and re-sizing a head to another way live in nas/maml (the API runs them too); re-exported here.
 */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { defineError } from '@fleetnas/shared'
import type { Checkpoint } from '../../nas/maml/index.ts'
import type { DatasetKind, InvertMode } from '../../nas/data/index.ts'

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
