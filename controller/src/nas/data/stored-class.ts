/**
 * A class whose images are decoded and packed as bytes (one [C,H,W] image after the other), the
 * form loaders and the decode cache keep them in: 4x smaller than floats and lossless with
 * respect to sharp's 8-bit output. Floats are made on access (under a microsecond for 28x28).
 */
import type { FewShotClass, ImageShape } from './dataset.ts'
import { bytesToUnit, rotateQuarterTurns } from './image-ops.ts'

export interface StoredClassArgs {
  name: string
  shape: ImageShape
  /** Packed images; the class reads `count` images starting at byte `offset`. */
  pixels: Uint8Array
  offset: number
  count: number
  /** Rotate every image by this many quarter turns (square images only). */
  quarterTurns?: number
}

export function createStoredClass(args: StoredClassArgs): FewShotClass {
  const { name, shape, pixels, offset, count } = args
  const length = shape.channels * shape.height * shape.width
  const turns = args.quarterTurns ?? 0
  if (turns % 4 !== 0 && shape.height !== shape.width) {
    throw new RangeError(`rotation needs square images, got ${shape.height}x${shape.width}`)
  }
  return {
    name,
    count,
    image(index: number): Float32Array {
      if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new RangeError(`image ${index} out of range for class ${name} (${count} images)`)
      }
      const img = bytesToUnit(pixels, offset + index * length, length)
      return turns % 4 === 0 ? img : rotateQuarterTurns(img, shape.channels, shape.height, turns)
    },
  }
}
