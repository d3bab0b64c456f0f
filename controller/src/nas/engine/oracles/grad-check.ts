/**
 * Test oracle (tests only import it): finite-difference helpers for gradient tests: central differences in float64 on sampled
 * coordinates, and a relative error that is robust to tiny components (norm over the sample).
 */
import type { Rng } from '@fleetnas/shared'

/** Up to `count` distinct indices in [0, size), always including 0 and size-1. */
export function sampleIndices(rng: Rng, size: number, count: number): number[] {
  if (size <= count) return Array.from({ length: size }, (_, i) => i)
  const set = new Set<number>([0, size - 1])
  for (let guard = 0; set.size < count && guard < count * 20; guard++) set.add(rng.int(size))
  return [...set].sort((a, b) => a - b)
}

/** d f / d p[i] for each index, by (f(p + h e_i) - f(p - h e_i)) / 2h in float64. */
export function centralDifferences(f: (p: Float64Array) => number, p: Float64Array, indices: number[], h = 1e-5): Float64Array {
  const out = new Float64Array(indices.length)
  indices.forEach((i, j) => {
    const keep = p[i]
    p[i] = keep + h
    const up = f(p)
    p[i] = keep - h
    const down = f(p)
    p[i] = keep
    out[j] = (up - down) / (2 * h)
  })
  return out
}

/** ||a - b|| / max(||a||, ||b||, floor). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-8): number {
  let diff = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2
    na += a[i] ** 2
    nb += b[i] ** 2
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nb), floor)
}

/** Values that survive a float32 round trip, so float32 and float64 paths see the same inputs. */
export function float32Values(rng: Rng, size: number, scale = 1, shift = 0): Float64Array {
  const f = new Float32Array(size)
  for (let i = 0; i < size; i++) f[i] = rng.normal() * scale + shift
  return Float64Array.from(f)
}
