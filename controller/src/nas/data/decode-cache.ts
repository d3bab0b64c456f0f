/**
 * On-disk cache of decoded images, so a dataset decoded once opens in a fraction of a second.
 * One file per unit (an Omniglot alphabet, a folder class) holding its packed [N,C,H,W] bytes,
 * named by a hash of everything that shaped them (source files with sizes and mtimes, decoder
 * settings, format version). It lives in os.tmpdir() unless told otherwise, never in the repo.
 * The cache is an optimisation only: a failure to read or write it is not an error. Files are put
 * by the one atomic write, so a concurrent reader (another process decoding the same unit) sees no
 * file or a whole one, never a part.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFileAtomic } from '@fleetnas/shared'

const FORMAT_VERSION = 1

export interface DecodeCache {
  readonly dir: string | undefined
  get(identity: string, expectedBytes: number): Promise<Uint8Array | undefined>
  put(identity: string, data: Uint8Array): Promise<void>
}

export function defaultCacheDir(): string {
  return join(tmpdir(), 'fleetnas-data-cache')
}

/** `dir`: a folder, undefined for the default one, false for no cache. */
export function openDecodeCache(dir: string | false | undefined): DecodeCache {
  if (dir === false) {
    return { dir: undefined, get: async () => undefined, put: async () => {} }
  }
  const root = dir ?? defaultCacheDir()
  const fileOf = (identity: string) =>
    join(root, createHash('sha256').update(`v${FORMAT_VERSION}\0${identity}`).digest('hex').slice(0, 40) + '.u8')
  return {
    dir: root,
    async get(identity, expectedBytes) {
      try {
        const data = await readFile(fileOf(identity))
        return data.byteLength === expectedBytes ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined
      } catch {
        return undefined
      }
    },
    async put(identity, data) {
      await writeFileAtomic(fileOf(identity), data).catch(() => undefined)
    },
  }
}
