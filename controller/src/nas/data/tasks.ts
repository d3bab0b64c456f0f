/**
 * N-way K-shot Q-query task sampling, the interface the training engine and MAML consume.
 *
 * A task draws `way` distinct classes of one split in random order (class j of the draw gets
 * label j), then `shot + query` distinct images of each class. Support and query sets are
 * class-major: all images of label 0, then label 1, ... Images are NCHW floats in [0,1].
 * Everything random comes from the `Rng` passed to `sample`, so the same generator state always
 * gives the same task.
 */
import type { Rng } from '@fleetnas/shared'
import { DataNotEnoughClasses, DataNotEnoughSamples, DataOptionsInvalid } from './errors.ts'
import { imageLength, type FewShotDataset, type ImageShape, type Split, SPLITS } from './dataset.ts'

export interface FewShotTask {
  way: number
  shot: number
  query: number
  /** x: [way*shot, C, H, W] NCHW, values in [0,1], 1 = ink; y: labels 0..way-1, class-major. */
  support: { x: Float32Array; y: Int32Array }
  /** x: [way*query, C, H, W]; y: labels, class-major. */
  queryset: { x: Float32Array; y: Int32Array }
  /** Dataset class name behind each label (index = label); for logs and debugging. */
  classNames?: string[]
}

export interface TaskSampler {
  sample(rng: Rng): FewShotTask
}

export interface TaskSamplerOptions {
  way: number
  shot: number
  query: number
  split: Split
}

/** What `createTaskSampler` returns: a TaskSampler that also tells the image shape. */
export interface DatasetTaskSampler extends TaskSampler {
  readonly shape: ImageShape
  readonly split: Split
  /** Classes of the split with at least shot + query images. */
  readonly eligibleClasses: number
}

/**
 * Checks the request against the dataset once (throws FLEETNAS_ERR_DATA_NOT_ENOUGH_CLASSES /
 * _NOT_ENOUGH_SAMPLES / _OPTIONS_INVALID) and returns a sampler. Classes with fewer than
 * shot + query images are never drawn.
 */
export function createTaskSampler(dataset: FewShotDataset, opts: TaskSamplerOptions): DatasetTaskSampler {
  const { way, shot, query, split } = opts
  const problems: string[] = []
  if (!Number.isInteger(way) || way < 1) problems.push(`way must be an integer >= 1, got ${way}`)
  if (!Number.isInteger(shot) || shot < 1) problems.push(`shot must be an integer >= 1, got ${shot}`)
  if (!Number.isInteger(query) || query < 0) problems.push(`query must be an integer >= 0, got ${query}`)
  if (!SPLITS.includes(split)) problems.push(`split must be one of ${SPLITS.join(', ')}, got ${split}`)
  if (problems.length) throw DataOptionsInvalid(problems)

  const classes = dataset.classes(split)
  const perClass = shot + query
  if (classes.length < way) throw DataNotEnoughClasses(split, classes.length, way)
  const eligible = classes.filter((c) => c.count >= perClass)
  if (eligible.length < way) throw DataNotEnoughSamples(split, eligible.length, way, perClass)

  const shape = { ...dataset.shape }
  const length = imageLength(shape)

  return {
    shape,
    split,
    eligibleClasses: eligible.length,
    sample(rng: Rng): FewShotTask {
      const chosen = drawDistinct(rng, eligible.length, way)
      const support = { x: new Float32Array(way * shot * length), y: new Int32Array(way * shot) }
      const queryset = { x: new Float32Array(way * query * length), y: new Int32Array(way * query) }
      const classNames: string[] = []
      for (let label = 0; label < way; label++) {
        const cls = eligible[chosen[label]]
        classNames.push(cls.name)
        const picks = drawDistinct(rng, cls.count, perClass)
        for (let k = 0; k < shot; k++) {
          const row = label * shot + k
          support.x.set(cls.image(picks[k]), row * length)
          support.y[row] = label
        }
        for (let k = 0; k < query; k++) {
          const row = label * query + k
          queryset.x.set(cls.image(picks[shot + k]), row * length)
          queryset.y[row] = label
        }
      }
      return { way, shot, query, support, queryset, classNames }
    },
  }
}

/** `count` distinct integers of [0, n) in random order (partial Fisher-Yates on a fresh array). */
function drawDistinct(rng: Rng, n: number, count: number): Int32Array {
  const pool = new Int32Array(n)
  for (let i = 0; i < n; i++) pool[i] = i
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i)
    const t = pool[i]
    pool[i] = pool[j]
    pool[j] = t
  }
  return pool.subarray(0, count)
}
