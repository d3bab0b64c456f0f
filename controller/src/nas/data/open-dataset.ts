/**
 * One door to every dataset kind, for the CLI, the API and the demo: `openDataset('glyphs')`,
 * `openDataset('omniglot', { path })`, `openDataset('folder', { path, channels: 3, size: 84 })`.
 * Options that do not apply to the kind are reported (all problems at once), not ignored, so a
 * forgotten `--dataset omniglot` does not silently train on glyphs.
 */
import { DATASET_KINDS, SPLITS, type DatasetKind, type FewShotDataset, type Split } from './dataset.ts'
import { DataEmpty, DataKindUnknown, DataOptionsInvalid } from './errors.ts'
import { loadFolderDataset } from './folder-dataset.ts'
import { createGlyphDataset } from './glyphs.ts'
import type { InvertMode, ResizeFit } from './image-decode.ts'
import { loadOmniglot } from './omniglot.ts'

export interface OpenDatasetOptions {
  /** omniglot, folder: folder or .zip (required). */
  path?: string
  /** glyphs: generator seed; folder: class split seed. Default 1. */
  seed?: number
  /** Square image side; default 28. */
  size?: number
  /** folder only: 1 (default) or 3. */
  channels?: 1 | 3
  /** glyphs: classes per split. */
  classes?: Partial<Record<Split, number>>
  /** glyphs: renderings per class (default 20). */
  samplesPerClass?: number
  /** glyphs: rendering cache bound in bytes. */
  cacheBytes?: number
  /** omniglot: alphabet lists (see OmniglotOptions). */
  valAlphabets?: string[]
  testAlphabets?: string[]
  alphabets?: string[]
  rotations?: boolean
  testPath?: string
  /** folder: resize fit, inversion, split ratios. */
  fit?: ResizeFit
  invert?: InvertMode
  ratios?: Partial<Record<Split, number>>
  /** omniglot, folder: decode cache folder (default under os.tmpdir()), false to disable. */
  cacheDir?: string | false
  concurrency?: number
  onProgress?: (done: number, total: number) => void
}

const APPLIES: Record<DatasetKind, ReadonlyArray<keyof OpenDatasetOptions>> = {
  glyphs: ['seed', 'size', 'classes', 'samplesPerClass', 'cacheBytes'],
  omniglot: ['path', 'seed', 'size', 'valAlphabets', 'testAlphabets', 'alphabets', 'rotations', 'testPath', 'cacheDir', 'concurrency', 'onProgress'],
  folder: ['path', 'seed', 'size', 'channels', 'fit', 'invert', 'ratios', 'cacheDir', 'concurrency', 'onProgress'],
}

export async function openDataset(kind: DatasetKind, opts: OpenDatasetOptions = {}): Promise<FewShotDataset> {
  if (!DATASET_KINDS.includes(kind)) throw DataKindUnknown(String(kind))
  const problems: string[] = []
  for (const [key, value] of Object.entries(opts)) {
    if (value !== undefined && !APPLIES[kind].includes(key as keyof OpenDatasetOptions)) {
      problems.push(`option '${key}' does not apply to the ${kind} dataset`)
    }
  }
  if (kind !== 'glyphs' && !opts.path) problems.push(`the ${kind} dataset needs a path (a folder or a .zip)`)
  if (problems.length) throw DataOptionsInvalid(problems)

  const dataset =
    kind === 'glyphs'
      ? createGlyphDataset(opts)
      : kind === 'omniglot'
        ? await loadOmniglot({ ...opts, path: opts.path! })
        : await loadFolderDataset({ ...opts, path: opts.path! })
  const description = dataset.describe()
  if (SPLITS.every((s) => description.splits[s].images === 0)) {
    throw DataEmpty(description.source, 'every split is empty')
  }
  return dataset
}
