/**
 * Class-per-folder image sets (`folder`): every image's folder is its class
 * (`<root>/<class>/*.png|jpg|webp|gif|tif|avif`, nested folders allowed, e.g. `Alphabet/char01`),
 * any size and format sharp reads, resized to the dataset size, grey (C=1) or RGB (C=3).
 * Classes are split train/val/test by a seeded shuffle, so a class never crosses splits.
 * All images are decoded when the dataset opens (through the disk cache) because task sampling
 * is synchronous.
 */
import { createRng } from '@fleetnas/shared'
import { posix } from 'node:path'
import { createDataset, SPLITS, type FewShotDataset, type Split } from './dataset.ts'
import { openDecodeCache } from './decode-cache.ts'
import { decodeUnits } from './decode-units.ts'
import { DataEmpty, DataOptionsInvalid } from './errors.ts'
import { decodePicture, type InvertMode, type ResizeFit } from './image-decode.ts'
import { classifyFile, naturalCompare } from './image-files.ts'
import { openImageSource } from './image-source.ts'
import { createStoredClass } from './stored-class.ts'

export interface FolderDatasetOptions {
  path: string
  /** Square image side; default 28. */
  size?: number
  /** 1 = grey (default), 3 = RGB. */
  channels?: 1 | 3
  /** How to fit other aspect ratios; default 'fill' (stretch, as torchvision Resize((s,s))). */
  fit?: ResizeFit
  /** Invert so dark strokes on light paper become ink = 1; default false. */
  invert?: InvertMode
  /** Share of classes per split; default 0.7 / 0.15 / 0.15 (normalised). */
  ratios?: Partial<Record<Split, number>>
  /** Seed of the class shuffle; default 1. */
  seed?: number
  cacheDir?: string | false
  concurrency?: number
  onProgress?: (done: number, total: number) => void
}

const DEFAULT_RATIOS: Record<Split, number> = { train: 0.7, val: 0.15, test: 0.15 }
const FITS: readonly ResizeFit[] = ['fill', 'cover', 'contain']

export async function loadFolderDataset(opts: FolderDatasetOptions): Promise<FewShotDataset> {
  const size = opts.size ?? 28
  const channels = opts.channels ?? 1
  const fit = opts.fit ?? 'fill'
  const invert = opts.invert ?? false
  const ratios = { ...DEFAULT_RATIOS, ...opts.ratios }
  const seed = opts.seed ?? 1
  const concurrency = opts.concurrency ?? 8
  const problems: string[] = []
  if (!Number.isInteger(size) || size < 4 || size > 512) problems.push(`size must be an integer in 4..512, got ${size}`)
  if (channels !== 1 && channels !== 3) problems.push(`channels must be 1 or 3, got ${channels}`)
  if (!FITS.includes(fit)) problems.push(`fit must be one of ${FITS.join(', ')}, got ${fit}`)
  if (invert !== true && invert !== false && invert !== 'auto') problems.push(`invert must be true, false or 'auto', got ${invert}`)
  for (const s of SPLITS) if (!(ratios[s] >= 0)) problems.push(`ratios.${s} must be >= 0, got ${ratios[s]}`)
  if (SPLITS.every((s) => !(ratios[s] > 0))) problems.push('ratios must not all be 0')
  if (!Number.isInteger(concurrency) || concurrency < 1) problems.push(`concurrency must be an integer >= 1, got ${concurrency}`)
  if (problems.length) throw DataOptionsInvalid(problems)

  const source = await openImageSource(opts.path, 'image folder')
  const byClass = new Map<string, string[]>()
  let skipped = 0
  for (const rel of source.files) {
    const verdict = classifyFile(rel)
    const dir = posix.dirname(rel)
    if (verdict !== 'image' || dir === '.') {
      if (verdict !== 'hidden') skipped++
      continue
    }
    const list = byClass.get(dir) ?? []
    list.push(rel)
    byClass.set(dir, list)
  }
  if (byClass.size === 0) {
    throw DataEmpty(source.root, `no images in class folders (expected <root>/<class>/<image>; ${skipped} other file(s) skipped)`)
  }
  const names = [...byClass.keys()].sort(naturalCompare)
  const files = names.map((n) => byClass.get(n)!.sort(naturalCompare))
  const { pixels } = await decodeUnits({
    source,
    units: files.map((f) => ({ files: f })),
    imageBytes: channels * size * size,
    decoderKey: `picture:${size}:${channels}:${fit}:${invert}`,
    decode: (bytes, file) => decodePicture(bytes, file, { width: size, height: size, channels, fit, invert }),
    cache: openDecodeCache(opts.cacheDir),
    concurrency,
    onProgress: opts.onProgress,
  })
  const shape = { channels, height: size, width: size }
  const classes = names.map((name, i) => createStoredClass({ name, shape, pixels: pixels[i], offset: 0, count: files[i].length }))
  return createDataset({ kind: 'folder', source: source.root, shape, splits: splitClasses(classes, ratios, seed), skippedFiles: skipped })
}

/** Seeded shuffle of the classes, then consecutive runs sized by the (normalised) ratios. */
export function splitClasses<T>(classes: readonly T[], ratios: Record<Split, number>, seed: number): Record<Split, T[]> {
  const order = createRng(`folder-split:${seed}`).shuffle(classes.map((_, i) => i))
  const total = ratios.train + ratios.val + ratios.test
  const n = classes.length
  const nVal = Math.round((n * ratios.val) / total)
  const nTest = Math.min(n - nVal, Math.round((n * ratios.test) / total))
  const pick = (from: number, to: number) => order.slice(from, to).sort((a, b) => a - b).map((i) => classes[i])
  return { val: pick(0, nVal), test: pick(nVal, nVal + nTest), train: pick(nVal + nTest, n) } as Record<Split, T[]>
}
