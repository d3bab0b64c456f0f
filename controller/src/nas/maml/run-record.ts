/**
 * The run record written beside a meta-training checkpoint (`<checkpoint>.run.json`): what the
 * checkpoint was trained on (dataset kind, path, image size, channels, ink polarity), since the
 * checkpoint format holds only the network and the MAML config, and its validation history.
 * meta-eval, adapt and architecture requests read it to open the same data.
 */
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '@fleetnas/shared'
import { openDataset, type DatasetKind, type FewShotDataset, type InvertMode, type OpenDatasetOptions } from '../data/index.ts'

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
  await writeFileAtomic(runRecordPath(checkpoint), `${JSON.stringify({ ...record, updatedAt: new Date().toISOString() }, null, 2)}\n`)
}

/** Opens the dataset, passing only the options that apply to its kind. */
export async function openChosenDataset(choice: DatasetChoice, log?: (line: string) => void): Promise<FewShotDataset> {
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
