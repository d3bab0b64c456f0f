/**
 * Reading a user's own few-shot task for `fleetnas adapt`: a support folder with one subfolder
 * per class (the subfolder name is the label) and a query folder of images to classify. Any
 * format and size sharp reads; hidden files and non-image files are skipped (and listed), and
 * every failure names the folder or file to fix.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DataEmpty, DataImageUnreadable, DataLayoutInvalid, DataOptionsInvalid, DataPathMissing } from './errors.ts'
import { decodePicture, type InvertMode, type ResizeFit } from './image-decode.ts'
import { classifyFile, naturalCompare } from './image-files.ts'
import { mapLimit } from './map-limit.ts'

export interface FolderImageOptions {
  /** Square side the model expects, e.g. 28. */
  size: number
  /** 1 = grey, 3 = RGB; must match the model. */
  channels: 1 | 3
  /** Default 'fill'. */
  fit?: ResizeFit
  /**
   * Invert so ink = 1 (models trained on glyphs / Omniglot expect light strokes on black);
   * 'auto' inverts images that are mostly light. Default false.
   */
  invert?: InvertMode
  concurrency?: number
}

export interface SupportSet {
  /** [N, C, H, W], class-major in label order. */
  x: Float32Array
  /** Label index per image (into `labels`). */
  y: Int32Array
  /** Class names (subfolder names), natural order; label i is labels[i]. */
  labels: string[]
  /** Source file of each image, same order as x. */
  files: string[]
  /** Files passed over (not images sharp reads), for a warning. */
  skipped: string[]
}

export interface QuerySet {
  /** [N, C, H, W]. */
  x: Float32Array
  /** Source file of each image, natural order, same order as x. */
  files: string[]
  skipped: string[]
}

export async function loadSupportFolder(dir: string, opts: FolderImageOptions): Promise<SupportSet> {
  checkOptions(opts)
  const root = await existingDir(dir, 'support folder')
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'))
  const classDirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(naturalCompare)
  const skipped = entries.filter((e) => !e.isDirectory()).map((e) => join(root, e.name))
  if (classDirs.length === 0) {
    throw DataEmpty(root, 'no class subfolders: put the images of each class in a subfolder named after the class')
  }
  const files: string[] = []
  const y: number[] = []
  for (const [label, name] of classDirs.entries()) {
    const listed = await listImages(join(root, name))
    skipped.push(...listed.skipped)
    if (listed.images.length === 0) {
      throw DataEmpty(join(root, name), `class '${name}' has no images sharp can read${describeSkipped(listed.skipped)}`)
    }
    for (const f of listed.images) {
      files.push(f)
      y.push(label)
    }
  }
  const x = await decodeFiles(files, opts)
  return { x, y: Int32Array.from(y), labels: classDirs, files, skipped }
}

export async function loadQueryFolder(dir: string, opts: FolderImageOptions): Promise<QuerySet> {
  checkOptions(opts)
  const root = await existingDir(dir, 'query folder')
  const listed = await listImages(root)
  if (listed.images.length === 0) throw DataEmpty(root, `no images sharp can read${describeSkipped(listed.skipped)}`)
  const x = await decodeFiles(listed.images, opts)
  return { x, files: listed.images, skipped: listed.skipped }
}

function checkOptions(opts: FolderImageOptions): void {
  const problems: string[] = []
  if (!Number.isInteger(opts.size) || opts.size < 4 || opts.size > 512) problems.push(`size must be an integer in 4..512, got ${opts.size}`)
  if (opts.channels !== 1 && opts.channels !== 3) problems.push(`channels must be 1 or 3, got ${opts.channels}`)
  if (problems.length) throw DataOptionsInvalid(problems)
}

async function existingDir(dir: string, what: string): Promise<string> {
  const root = resolve(dir)
  const st = await stat(root).catch(() => undefined)
  if (!st) throw DataPathMissing(root, what)
  if (!st.isDirectory()) throw DataLayoutInvalid(root, `the ${what} must be a folder`)
  return root
}

/** Image files directly in `dir` (natural order) and the other non-hidden entries. */
async function listImages(dir: string): Promise<{ images: string[]; skipped: string[] }> {
  const entries = await readdir(dir, { withFileTypes: true })
  const images: string[] = []
  const skipped: string[] = []
  for (const e of entries.sort((a, b) => naturalCompare(a.name, b.name))) {
    const verdict = classifyFile(e.name)
    if (verdict === 'hidden') continue
    if (e.isFile() && verdict === 'image') images.push(join(dir, e.name))
    else skipped.push(join(dir, e.name))
  }
  return { images, skipped }
}

function describeSkipped(skipped: string[]): string {
  if (skipped.length === 0) return ' (the folder is empty)'
  const shown = skipped.slice(0, 5).join(', ')
  return ` (skipped ${skipped.length} other file(s): ${shown}${skipped.length > 5 ? ', ...' : ''})`
}

async function decodeFiles(files: string[], opts: FolderImageOptions): Promise<Float32Array> {
  const length = opts.channels * opts.size * opts.size
  const x = new Float32Array(files.length * length)
  await mapLimit(files, opts.concurrency ?? 8, async (file, i) => {
    let bytes: Uint8Array
    try {
      bytes = await readFile(file)
    } catch (e) {
      throw DataImageUnreadable(file, (e as Error).message)
    }
    const img = await decodePicture(bytes, file, {
      width: opts.size,
      height: opts.size,
      channels: opts.channels,
      fit: opts.fit ?? 'fill',
      invert: opts.invert ?? false,
    })
    for (let k = 0; k < length; k++) x[i * length + k] = img[k] / 255
  })
  return x
}
