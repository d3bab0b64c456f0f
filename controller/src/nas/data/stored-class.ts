/**
 * A class whose images are decoded and packed as bytes (one [C,H,W] image after the other), the
 * form loaders and the decode cache keep them in: 4x smaller than floats and lossless with
 * respect to sharp's 8-bit output. Floats are made on access (a few microseconds for 28x28);
 * rotated classes read the same bytes through a precomputed index map, so they cost no memory.
 */
import type { FewShotClass, ImageShape } from './dataset.ts'
import { bytesToUnit } from './image-ops.ts'

export interface StoredClassArgs {
  name: string
  shape: ImageShape
  /** Packed images; the class reads `count` images starting at byte `offset`. */
  pixels: Uint8Array
  offset: number
  count: number
  /** Rotate every image by this many quarter turns counter-clockwise (square images only). */
  quarterTurns?: number
}

export function createStoredClass(args: StoredClassArgs): FewShotClass {
  const { name, shape, pixels, offset, count } = args
  const length = shape.channels * shape.height * shape.width
  const turns = (((args.quarterTurns ?? 0) % 4) + 4) % 4
  const map = turns === 0 ? undefined : rotationMap(shape, turns)
  return {
    name,
    count,
    image(index: number): Float32Array {
      if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new RangeError(`image ${index} out of range for class ${name} (${count} images)`)
      }
      const start = offset + index * length
      if (!map) return bytesToUnit(pixels, start, length)
      const out = new Float32Array(length)
      for (let i = 0; i < length; i++) out[i] = pixels[start + map[i]] * (1 / 255)
      return out
    },
  }
}

const maps = new Map<string, Int32Array>()

/** out[i] = in[map[i]] for a rotation by `turns` quarter turns, same convention as rotateQuarterTurns. */
function rotationMap(shape: ImageShape, turns: number): Int32Array {
  const { channels, height: size, width } = shape
  if (size !== width) throw new RangeError(`rotation needs square images, got ${size}x${width}`)
  const key = `${channels}:${size}:${turns}`
  let map = maps.get(key)
  if (map) return map
  map = new Int32Array(channels * size * size)
  const last = size - 1
  for (let c = 0; c < channels; c++) {
    const base = c * size * size
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const [sy, sx] = turns === 1 ? [x, last - y] : turns === 2 ? [last - y, last - x] : [last - x, y]
        map[base + y * size + x] = base + sy * size + sx
      }
    }
  }
  maps.set(key, map)
  return map
}
