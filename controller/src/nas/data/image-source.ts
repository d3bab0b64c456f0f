/**
 * Where dataset files come from: a directory, or a .zip read in place with fflate (nothing is
 * extracted). `path` may point inside a zip, e.g. `omniglot/images_background.zip/images_background`.
 * Files are named by POSIX paths relative to the source root; `identity` describes a set of files
 * well enough (sizes, modification times) to key the decode cache.
 */
import { createHash } from 'node:crypto'
import { readFile, readdir, stat } from 'node:fs/promises'
import { existsSync, statSync } from 'node:fs'
import { join, resolve, sep, dirname } from 'node:path'
import { unzipSync } from 'fflate'
import { DataImageUnreadable, DataLayoutInvalid, DataPathMissing } from './errors.ts'
import { mapLimit } from './map-limit.ts'

export interface ImageSource {
  /** Absolute path as given (for messages). */
  readonly root: string
  /** Every regular file, relative POSIX path, sorted. */
  readonly files: readonly string[]
  /** Bytes of several files at once (a zip decompresses just these, in one pass). */
  readMany(rels: readonly string[]): Promise<Map<string, Uint8Array>>
  /** A stable string that changes when any of these files changes. */
  identity(rels: readonly string[]): Promise<string>
  /** How to name a file in an error message. */
  display(rel: string): string
}

export async function openImageSource(path: string, what = 'dataset path'): Promise<ImageSource> {
  const abs = resolve(path)
  if (existsSync(abs)) {
    const st = statSync(abs)
    if (st.isDirectory()) return openDirectorySource(abs)
    if (st.isFile() && abs.toLowerCase().endsWith('.zip')) return openZipSource(abs, '')
    throw DataLayoutInvalid(abs, 'expected a folder or a .zip file')
  }
  // A path inside a zip: find the longest existing prefix that is a .zip file.
  let outer = abs
  while (dirname(outer) !== outer) {
    outer = dirname(outer)
    if (existsSync(outer)) {
      if (statSync(outer).isFile() && outer.toLowerCase().endsWith('.zip')) {
        return openZipSource(outer, abs.slice(outer.length + 1).split(sep).join('/'))
      }
      break
    }
  }
  throw DataPathMissing(abs, what)
}

async function openDirectorySource(root: string): Promise<ImageSource> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(root.length + 1).split(sep).join('/'))
    .sort()
  return {
    root,
    files,
    async readMany(rels) {
      const out = new Map<string, Uint8Array>()
      await mapLimit(rels, 32, async (rel) => {
        try {
          out.set(rel, await readFile(join(root, rel)))
        } catch (e) {
          throw DataImageUnreadable(join(root, rel), (e as Error).message)
        }
      })
      return out
    },
    async identity(rels) {
      // Absolute file paths: the same files give the same identity whichever folder was named.
      const hash = createHash('sha256').update('dir')
      for (const rel of rels) {
        const file = join(root, rel)
        const st = await stat(file)
        hash.update(`\0${file}\0${st.size}\0${st.mtimeMs}`)
      }
      return hash.digest('hex')
    },
    display: (rel) => join(root, rel),
  }
}

async function openZipSource(zipPath: string, inner: string): Promise<ImageSource> {
  const st = statSync(zipPath)
  const bytes: Uint8Array = await readFile(zipPath)
  const prefix = inner ? inner.replace(/\/+$/, '') + '/' : ''
  const files: string[] = []
  try {
    // Listing only: the filter sees every entry and declining it skips decompression.
    unzipSync(bytes, {
      filter: (f) => {
        if (!f.name.endsWith('/') && f.name.startsWith(prefix)) files.push(f.name.slice(prefix.length))
        return false
      },
    })
  } catch (e) {
    throw DataLayoutInvalid(zipPath, `not a readable zip file (${(e as Error).message})`)
  }
  if (prefix && files.length === 0) throw DataPathMissing(`${zipPath}/${inner}`, `folder '${inner}' inside the zip`)
  files.sort()
  return {
    root: prefix ? `${zipPath}/${inner}` : zipPath,
    files,
    async readMany(rels) {
      const wanted = new Set(rels.map((r) => prefix + r))
      const found = unzipSync(bytes, { filter: (f) => wanted.has(f.name) })
      const out = new Map<string, Uint8Array>()
      for (const [name, data] of Object.entries(found)) out.set(name.slice(prefix.length), data)
      return out
    },
    async identity(rels) {
      const hash = createHash('sha256').update(`zip\0${zipPath}\0${st.size}\0${st.mtimeMs}`)
      for (const rel of rels) hash.update(`\0${prefix}${rel}`)
      return hash.digest('hex')
    },
    display: (rel) => `${zipPath}/${prefix}${rel}`,
  }
}
