/**
 * What a few-shot dataset is to the rest of fleetnas: per split, a list of classes, each a list
 * of images read synchronously as [C,H,W] floats in [0,1] (for characters, 1 = ink). Loaders do
 * their slow work (decoding, rendering caches) up front or behind a cache so a task sampler can
 * draw thousands of tasks without awaiting anything.
 */

export const SPLITS = ['train', 'val', 'test'] as const
export type Split = (typeof SPLITS)[number]

export const DATASET_KINDS = ['glyphs', 'omniglot', 'folder'] as const
export type DatasetKind = (typeof DATASET_KINDS)[number]

export interface ImageShape {
  channels: number
  height: number
  width: number
}

export interface FewShotClass {
  /** Stable, human-readable name, e.g. `Latin/character01`, `Latin/character01@rot90`, `dog`. */
  readonly name: string
  /** Number of images in the class. */
  readonly count: number
  /**
   * Image `index` (0 <= index < count) as a [C,H,W] Float32Array. The array may be shared with a
   * cache: copy it before changing it.
   */
  image(index: number): Float32Array
}

export interface SplitDescription {
  classes: number
  images: number
  minPerClass: number
  maxPerClass: number
}

export interface DatasetDescription {
  kind: DatasetKind
  /** Where the data came from: a path, or `procedural (seed N)`. */
  source: string
  shape: ImageShape
  splits: Record<Split, SplitDescription>
  /** Files that were passed over (hidden, not an image sharp reads); empty for glyphs. */
  skippedFiles: number
}

export interface FewShotDataset {
  readonly kind: DatasetKind
  readonly shape: ImageShape
  classes(split: Split): readonly FewShotClass[]
  describe(): DatasetDescription
}

export function imageLength(shape: ImageShape): number {
  return shape.channels * shape.height * shape.width
}

export function describeSplit(classes: readonly FewShotClass[]): SplitDescription {
  let images = 0
  let min = Infinity
  let max = 0
  for (const c of classes) {
    images += c.count
    min = Math.min(min, c.count)
    max = Math.max(max, c.count)
  }
  return { classes: classes.length, images, minPerClass: classes.length ? min : 0, maxPerClass: max }
}

/** A dataset whose classes are already built; loaders assemble one of these. */
export function createDataset(args: {
  kind: DatasetKind
  source: string
  shape: ImageShape
  splits: Record<Split, readonly FewShotClass[]>
  skippedFiles?: number
}): FewShotDataset {
  const { kind, source, shape, splits } = args
  return {
    kind,
    shape,
    classes: (split) => splits[split],
    describe: () => ({
      kind,
      source,
      shape: { ...shape },
      splits: {
        train: describeSplit(splits.train),
        val: describeSplit(splits.val),
        test: describeSplit(splits.test),
      },
      skippedFiles: args.skippedFiles ?? 0,
    }),
  }
}
