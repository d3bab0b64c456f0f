/**
 * Decodes groups of files ("units": an Omniglot alphabet, a folder class) into packed byte
 * arrays, through the disk cache: units found in the cache are read back, the others decoded
 * with a bounded number of images in flight across all units (so many small classes keep both
 * cores busy) and then written to the cache.
 */
import type { DecodeCache } from './decode-cache.ts'
import { mapLimit } from './map-limit.ts'
import type { ImageSource } from './image-source.ts'

export interface DecodeUnit {
  /** Files of the unit, in image order. */
  files: readonly string[]
}

export interface DecodeUnitsArgs {
  source: ImageSource
  units: readonly DecodeUnit[]
  /** Bytes per decoded image (C*H*W). */
  imageBytes: number
  /** Everything besides the files that shapes the output (decoder name, size, options). */
  decoderKey: string
  decode: (bytes: Uint8Array, file: string) => Promise<Uint8Array>
  cache: DecodeCache
  concurrency: number
  onProgress?: (done: number, total: number) => void
}

export interface DecodeUnitsResult {
  /** One packed array per unit, same order as `units`. */
  pixels: Uint8Array[]
  /** Images decoded now (the rest came from the cache). */
  decoded: number
  fromCache: number
}

/** Zip sources decompress per batch; this bounds memory held in compressed-file bytes. */
const READ_BATCH = 2048

export async function decodeUnits(args: DecodeUnitsArgs): Promise<DecodeUnitsResult> {
  const { source, units, imageBytes, cache } = args
  const total = units.reduce((n, u) => n + u.files.length, 0)
  const identities = await Promise.all(units.map(async (u) => `${args.decoderKey}\0${await source.identity(u.files)}`))
  const pixels: Uint8Array[] = new Array(units.length)
  const missing: number[] = []
  let fromCache = 0
  await Promise.all(
    units.map(async (u, i) => {
      const hit = await cache.get(identities[i], u.files.length * imageBytes)
      if (hit) {
        pixels[i] = hit
        fromCache += u.files.length
      } else missing.push(i)
    }),
  )
  missing.sort((a, b) => a - b)
  let done = fromCache
  args.onProgress?.(done, total)

  // Every image still to decode, as (unit, index-in-unit).
  const jobs: Array<[number, number]> = []
  for (const i of missing) {
    pixels[i] = new Uint8Array(units[i].files.length * imageBytes)
    for (let k = 0; k < units[i].files.length; k++) jobs.push([i, k])
  }
  for (let start = 0; start < jobs.length; start += READ_BATCH) {
    const batch = jobs.slice(start, start + READ_BATCH)
    const bytes = await source.readMany(batch.map(([i, k]) => units[i].files[k]))
    await mapLimit(batch, args.concurrency, async ([i, k]) => {
      const rel = units[i].files[k]
      const data = bytes.get(rel)
      if (!data) throw new Error(`internal: ${rel} was listed but could not be read`)
      const img = await args.decode(data, source.display(rel))
      pixels[i].set(img, k * imageBytes)
      done++
      if (done % 256 === 0) args.onProgress?.(done, total)
    })
  }
  await Promise.all(missing.map((i) => cache.put(identities[i], pixels[i])))
  args.onProgress?.(total, total)
  return { pixels, decoded: total - fromCache, fromCache }
}
