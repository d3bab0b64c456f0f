/**
 * The one atomic file write: a reader (or a process started after a crash or power loss) sees the
 * old file or the whole new one, never a torn one. The bytes go to a uniquely named temp file in
 * the target's folder (a rename is atomic only within one filesystem), are fsynced, then renamed
 * over the target, and the folder is fsynced so the rename itself survives a power loss. A failed
 * write removes its temp file; one left by a crash is recognised by `isAtomicWriteTemp`.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Writes `data` to `path` atomically and durably, creating the folder if needed. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = atomicWriteTempPath(path)
  try {
    const fh = await open(tmp, 'wx')
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw e
  }
  await syncDir(dir)
}

/** A fresh temp path beside `path`; pid and random bytes, so no two writes, in one process or two, share one. */
export function atomicWriteTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/**
 * Whether a file name is a temp file of `writeFileAtomic`: one still there is a write a crash cut
 * off, and nothing refers to it. Also matches the `{name}.{pid}.tmp` form the agent wrote before
 * this helper, so such leftovers on an upgraded device are swept too.
 */
export const isAtomicWriteTemp = (name: string): boolean => /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name) || /^[^.].*\.\d+\.tmp$/.test(name)

/** Fsyncs a folder so renames and creations in it survive a power loss, where the platform allows. */
async function syncDir(dir: string): Promise<void> {
  let dh
  try {
    dh = await open(dir, 'r')
    await dh.sync()
  } catch {
    // Windows cannot open a folder, and some filesystems refuse fsync on one: the rename is still atomic.
  } finally {
    await dh?.close().catch(() => undefined)
  }
}
