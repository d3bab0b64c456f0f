/**
 * The built-in procedural glyph dataset (`glyphs`): no files, deterministic by seed. Class i of
 * a split is the character generated from seed:split:i, sample j of it one jittered rendering
 * seeded by seed:split:i:j, so any image can be made on its own, in any order, and is the same
 * in every process. Renderings are kept in a byte-bounded LRU cache.
 */
import { createRng } from '@fleetnas/shared'
import { createDataset, SPLITS, type FewShotClass, type FewShotDataset, type Split } from './dataset.ts'
import { DataOptionsInvalid } from './errors.ts'
import { DEFAULT_JITTER, generateCharacter, renderCharacter, type GlyphCharacter } from './glyph-character.ts'
import { ImageCache } from './image-cache.ts'

export interface GlyphDatasetOptions {
  /** Default 1. */
  seed?: number
  /** Square image side in pixels; default 28. */
  size?: number
  /** Classes per split; default train 1200, val 300, test 300. */
  classes?: Partial<Record<Split, number>>
  /** Renderings ("drawers") per class; default 20, as in Omniglot. */
  samplesPerClass?: number
  /** Bound of the rendering cache in bytes; default 64 MiB. */
  cacheBytes?: number
}

export interface ResolvedGlyphOptions {
  seed: number
  size: number
  classes: Record<Split, number>
  samplesPerClass: number
  cacheBytes: number
}

export const GLYPH_DEFAULTS: ResolvedGlyphOptions = {
  seed: 1,
  size: 28,
  classes: { train: 1200, val: 300, test: 300 },
  samplesPerClass: 20,
  cacheBytes: 64 * 1024 * 1024,
}

export function resolveGlyphOptions(opts: GlyphDatasetOptions = {}): ResolvedGlyphOptions {
  const r: ResolvedGlyphOptions = {
    seed: opts.seed ?? GLYPH_DEFAULTS.seed,
    size: opts.size ?? GLYPH_DEFAULTS.size,
    classes: { ...GLYPH_DEFAULTS.classes, ...opts.classes },
    samplesPerClass: opts.samplesPerClass ?? GLYPH_DEFAULTS.samplesPerClass,
    cacheBytes: opts.cacheBytes ?? GLYPH_DEFAULTS.cacheBytes,
  }
  const problems: string[] = []
  if (!Number.isFinite(r.seed)) problems.push(`seed must be a number, got ${r.seed}`)
  if (!Number.isInteger(r.size) || r.size < 4 || r.size > 512) problems.push(`size must be an integer in 4..512, got ${r.size}`)
  for (const split of SPLITS) {
    const n = r.classes[split]
    if (!Number.isInteger(n) || n < 0) problems.push(`classes.${split} must be an integer >= 0, got ${n}`)
  }
  if (!Number.isInteger(r.samplesPerClass) || r.samplesPerClass < 1) {
    problems.push(`samplesPerClass must be an integer >= 1, got ${r.samplesPerClass}`)
  }
  if (!Number.isFinite(r.cacheBytes) || r.cacheBytes < 0) problems.push(`cacheBytes must be >= 0, got ${r.cacheBytes}`)
  if (problems.length) throw DataOptionsInvalid(problems)
  return r
}

export function createGlyphDataset(opts: GlyphDatasetOptions = {}): FewShotDataset {
  const o = resolveGlyphOptions(opts)
  const cache = new ImageCache(o.cacheBytes)
  const classesOf = (split: Split, splitIndex: number): FewShotClass[] =>
    Array.from({ length: o.classes[split] }, (_, i) => {
      const seedText = `glyphs:${o.seed}:${split}:${i}`
      let character: GlyphCharacter | undefined
      const keyBase = splitIndex * 2 ** 40 + i * o.samplesPerClass
      return {
        name: `glyph-${split}-${String(i).padStart(4, '0')}`,
        count: o.samplesPerClass,
        image(index: number): Float32Array {
          if (!Number.isInteger(index) || index < 0 || index >= o.samplesPerClass) {
            throw new RangeError(`image ${index} out of range for glyph class ${split}/${i}`)
          }
          return cache.getOrMake(keyBase + index, () => {
            character ??= generateCharacter(createRng(seedText))
            return renderCharacter(character, createRng(`${seedText}:${index}`), o.size, o.size, DEFAULT_JITTER)
          })
        },
      }
    })
  return createDataset({
    kind: 'glyphs',
    source: `procedural (seed ${o.seed})`,
    shape: { channels: 1, height: o.size, width: o.size },
    splits: { train: classesOf('train', 0), val: classesOf('val', 1), test: classesOf('test', 2) },
  })
}
