/**
 * Omniglot layout loader: `<root>/<Alphabet>/<character>/*.png` (105x105 1-bit scans, black ink
 * on white), from a folder or a .zip read in place (`images_background.zip`, or a folder inside
 * it such as `images_background.zip/images_background`). Images become area-resized floats with
 * ink = 1. Splits go by alphabet so no alphabet crosses them; rotations by 90/180/270 degrees are
 * extra training classes (the usual MAML practice). Decoded alphabets are cached on disk.
 */
import { createDataset, type FewShotClass, type FewShotDataset, type Split } from './dataset.ts'
import { openDecodeCache } from './decode-cache.ts'
import { decodeUnits } from './decode-units.ts'
import { DataEmpty, DataLayoutInvalid, DataOptionsInvalid } from './errors.ts'
import { decodeCharacter } from './image-decode.ts'
import { classifyFile, naturalCompare } from './image-files.ts'
import { openImageSource, type ImageSource } from './image-source.ts'
import { createStoredClass } from './stored-class.ts'

/** The development split of the background set (see datasets/omniglot/README.md). */
export const OMNIGLOT_VAL_ALPHABETS = ['Bengali', 'Futurama', 'Hebrew', 'Korean', 'Tagalog'] as const

export interface OmniglotOptions {
  path: string
  /** Square image side; default 28. */
  size?: number
  /** Default OMNIGLOT_VAL_ALPHABETS. */
  valAlphabets?: readonly string[]
  /** Default none. */
  testAlphabets?: readonly string[]
  /** Load only these alphabets (default all): faster for tests and quick runs. */
  alphabets?: readonly string[]
  /** Add 90/180/270-degree rotations of training characters as new classes; default true. */
  rotations?: boolean
  /** A second Omniglot root (e.g. images_evaluation) whose alphabets all go to the test split. */
  testPath?: string
  /** Decode cache folder; default <os.tmpdir()>/fleetnas-data-cache; false disables it. */
  cacheDir?: string | false
  /** Images decoded at once; default 8. */
  concurrency?: number
  onProgress?: (done: number, total: number) => void
}

interface Alphabet {
  name: string
  /** Character folder names, natural order. */
  characters: string[]
  /** Files per character, natural order, relative to the source root. */
  files: string[][]
}

export async function loadOmniglot(opts: OmniglotOptions): Promise<FewShotDataset> {
  const size = opts.size ?? 28
  const concurrency = opts.concurrency ?? 8
  const problems: string[] = []
  if (!Number.isInteger(size) || size < 4 || size > 512) problems.push(`size must be an integer in 4..512, got ${size}`)
  if (!Number.isInteger(concurrency) || concurrency < 1) problems.push(`concurrency must be an integer >= 1, got ${concurrency}`)
  if (problems.length) throw DataOptionsInvalid(problems)

  const source = await openImageSource(opts.path, 'Omniglot path')
  const { alphabets, skipped } = findAlphabets(source)
  const available = alphabets.map((a) => a.name)
  const val = new Set(opts.valAlphabets ?? OMNIGLOT_VAL_ALPHABETS)
  const test = new Set(opts.testAlphabets ?? [])
  checkNames(problems, 'alphabets', opts.alphabets, available)
  checkNames(problems, 'valAlphabets', opts.valAlphabets, available)
  checkNames(problems, 'testAlphabets', opts.testAlphabets, available)
  for (const name of val) if (test.has(name)) problems.push(`alphabet '${name}' is in both valAlphabets and testAlphabets`)
  if (problems.length) throw DataOptionsInvalid(problems)

  const only = opts.alphabets ? new Set(opts.alphabets) : undefined
  const chosen = alphabets.filter((a) => !only || only.has(a.name))
  const cache = openDecodeCache(opts.cacheDir)
  const shape = { channels: 1, height: size, width: size }
  const splitOf = (name: string): Split => (test.has(name) ? 'test' : val.has(name) ? 'val' : 'train')

  let extraTest: { alphabets: Alphabet[]; source: ImageSource; skipped: number } | undefined
  if (opts.testPath) {
    const testSource = await openImageSource(opts.testPath, 'Omniglot testPath')
    extraTest = { source: testSource, ...findAlphabets(testSource) }
  }
  const decodeAll = (src: ImageSource, list: Alphabet[], onProgress?: OmniglotOptions['onProgress']) =>
    decodeUnits({
      source: src,
      units: list.map((a) => ({ files: a.files.flat() })),
      imageBytes: size * size,
      decoderKey: `omniglot-area-invert:${size}`,
      decode: (bytes, file) => decodeCharacter(bytes, file, size, size),
      cache,
      concurrency,
      onProgress,
    })

  const splits: Record<Split, FewShotClass[]> = { train: [], val: [], test: [] }
  const addAlphabets = (list: Alphabet[], pixels: Uint8Array[], split: (name: string) => Split) => {
    list.forEach((alphabet, u) => {
      const target = split(alphabet.name)
      let offset = 0
      alphabet.characters.forEach((character, c) => {
        const count = alphabet.files[c].length
        const base = { shape, pixels: pixels[u], offset, count }
        const name = `${alphabet.name}/${character}`
        splits[target].push(createStoredClass({ ...base, name }))
        if (target === 'train' && opts.rotations !== false) {
          for (const turns of [1, 2, 3]) {
            splits[target].push(createStoredClass({ ...base, name: `${name}@rot${turns * 90}`, quarterTurns: turns }))
          }
        }
        offset += count * size * size
      })
    })
  }
  const main = await decodeAll(source, chosen, opts.onProgress)
  addAlphabets(chosen, main.pixels, splitOf)
  if (extraTest) {
    const more = await decodeAll(extraTest.source, extraTest.alphabets)
    addAlphabets(extraTest.alphabets, more.pixels, () => 'test')
  }
  return createDataset({
    kind: 'omniglot',
    source: extraTest ? `${source.root} + ${extraTest.source.root} (test)` : source.root,
    shape,
    splits,
    skippedFiles: skipped + (extraTest?.skipped ?? 0),
  })
}

/**
 * Groups image files by alphabet and character. The alphabet root is found, not assumed: it is
 * the folder three levels above the images, which must be one folder for all of them.
 */
function findAlphabets(source: ImageSource): { alphabets: Alphabet[]; skipped: number } {
  const roots = new Map<string, string[]>()
  let skipped = 0
  for (const rel of source.files) {
    const verdict = classifyFile(rel)
    const parts = rel.split('/')
    if (verdict !== 'image' || parts.length < 3) {
      if (verdict !== 'hidden') skipped++
      continue
    }
    const root = parts.slice(0, -3).join('/')
    const list = roots.get(root) ?? []
    list.push(parts.slice(-3).join('/'))
    roots.set(root, list)
  }
  if (roots.size === 0) {
    throw DataEmpty(source.root, 'no <Alphabet>/<character>/<image>.png files found (is this an Omniglot folder or zip?)')
  }
  if (roots.size > 1) {
    const names = [...roots.keys()].map((r) => `'${r || '.'}'`).join(', ')
    throw DataLayoutInvalid(source.root, `images sit at several depths (alphabet roots ${names}); point the path at one of them, e.g. <zip>/images_background`)
  }
  const [[root, files]] = [...roots.entries()]
  const prefix = root ? root + '/' : ''
  const byAlphabet = new Map<string, Map<string, string[]>>()
  for (const rel of files) {
    const [alphabet, character] = rel.split('/')
    const chars = byAlphabet.get(alphabet) ?? new Map<string, string[]>()
    const list = chars.get(character) ?? []
    list.push(prefix + rel)
    chars.set(character, list)
    byAlphabet.set(alphabet, chars)
  }
  const alphabets = [...byAlphabet.keys()].sort(naturalCompare).map((name) => {
    const chars = byAlphabet.get(name)!
    const characters = [...chars.keys()].sort(naturalCompare)
    return { name, characters, files: characters.map((c) => chars.get(c)!.sort(naturalCompare)) }
  })
  return { alphabets, skipped }
}

function checkNames(problems: string[], option: string, names: readonly string[] | undefined, available: string[]): void {
  if (!names) return
  const unknown = names.filter((n) => !available.includes(n))
  for (const name of unknown) {
    const near = available.find((a) => a.toLowerCase() === name.toLowerCase())
    problems.push(`${option}: no alphabet named '${name}'${near ? ` (did you mean '${near}'?)` : ''}`)
  }
  const listing = `available alphabets: ${available.join(', ')}`
  if (unknown.length && !problems.includes(listing)) problems.push(listing)
}
