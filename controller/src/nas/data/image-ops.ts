/**
 * Small pixel operations on planar images that sharp does not do the way we need: an exact area
 * (box) resize, quarter-turn rotation, and byte-to-float conversion.
 */

/**
 * Area-average resize of one channel: every destination pixel is the mean of the source area it
 * covers, fractional pixels weighted by their overlap. For 1-bit Omniglot strokes this keeps the
 * ink mass that kernel filters (lanczos, cubic) blur or ring.
 */
export function areaResize(
  src: ArrayLike<number>,
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
): Float32Array {
  const cols = areaWeights(srcWidth, dstWidth)
  const rows = areaWeights(srcHeight, dstHeight)
  // Horizontal pass into a [srcHeight, dstWidth] buffer, then vertical.
  const mid = new Float32Array(srcHeight * dstWidth)
  for (let y = 0; y < srcHeight; y++) {
    const rowOffset = y * srcWidth
    for (let x = 0; x < dstWidth; x++) {
      const { index, weight } = cols[x]
      let acc = 0
      for (let k = 0; k < index.length; k++) acc += src[rowOffset + index[k]] * weight[k]
      mid[y * dstWidth + x] = acc
    }
  }
  const out = new Float32Array(dstHeight * dstWidth)
  for (let y = 0; y < dstHeight; y++) {
    const { index, weight } = rows[y]
    for (let k = 0; k < index.length; k++) {
      const from = index[k] * dstWidth
      const w = weight[k]
      for (let x = 0; x < dstWidth; x++) out[y * dstWidth + x] += mid[from + x] * w
    }
  }
  return out
}

interface AreaTap {
  index: Int32Array
  weight: Float32Array
}

const weightCache = new Map<string, AreaTap[]>()

function areaWeights(srcSize: number, dstSize: number): AreaTap[] {
  const key = `${srcSize}>${dstSize}`
  const cached = weightCache.get(key)
  if (cached) return cached
  const scale = srcSize / dstSize
  const taps: AreaTap[] = []
  for (let d = 0; d < dstSize; d++) {
    const start = d * scale
    const end = start + scale
    const index: number[] = []
    const weight: number[] = []
    for (let s = Math.floor(start); s < Math.min(srcSize, Math.ceil(end)); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s)
      if (overlap > 1e-9) {
        index.push(s)
        weight.push(overlap / scale)
      }
    }
    taps.push({ index: Int32Array.from(index), weight: Float32Array.from(weight) })
  }
  weightCache.set(key, taps)
  return taps
}

/**
 * Rotates a planar [C,H,W] square image by `quarterTurns` x 90 degrees counter-clockwise.
 * Exact (no resampling), which is why Omniglot rotation classes are cheap to make on demand.
 */
export function rotateQuarterTurns(
  src: Float32Array,
  channels: number,
  size: number,
  quarterTurns: number,
): Float32Array {
  const turns = ((quarterTurns % 4) + 4) % 4
  if (turns === 0) return src
  const out = new Float32Array(src.length)
  const plane = size * size
  const last = size - 1
  for (let c = 0; c < channels; c++) {
    const base = c * plane
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let sx: number, sy: number
        if (turns === 1) { sx = last - y; sy = x } // out(y,x) = in(x, last-y)
        else if (turns === 2) { sx = last - x; sy = last - y }
        else { sx = y; sy = last - x }
        out[base + y * size + x] = src[base + sy * size + sx]
      }
    }
  }
  return out
}

/** Bytes 0..255 to floats 0..1. */
export function bytesToUnit(bytes: Uint8Array, offset: number, length: number): Float32Array {
  const out = new Float32Array(length)
  for (let i = 0; i < length; i++) out[i] = bytes[offset + i] * (1 / 255)
  return out
}

/** Floats 0..1 to bytes (rounded, clamped), written into `out` at `offset`. */
export function unitToBytes(src: ArrayLike<number>, out: Uint8Array, offset: number): void {
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i] * 255)
    out[offset + i] = v < 0 ? 0 : v > 255 ? 255 : v
  }
}

/** Interleaved HWC bytes to planar CHW bytes (sharp gives HWC, the engine wants NCHW). */
export function interleavedToPlanar(
  src: Uint8Array,
  channels: number,
  pixels: number,
  out: Uint8Array,
  offset: number,
): void {
  if (channels === 1) {
    out.set(src.subarray(0, pixels), offset)
    return
  }
  for (let c = 0; c < channels; c++) {
    const base = offset + c * pixels
    for (let p = 0; p < pixels; p++) out[base + p] = src[p * channels + c]
  }
}
