/**
 * Crash-safe small files: write to a temporary name, fsync, rename over the target, fsync the
 * directory. After a crash a reader sees the old file or the new one, never a torn one.
 */
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

export async function writeFileDurable(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  await syncDir(dirname(path))
}

/** Whether a file name is a writeFileDurable temp file: one left behind is a write a crash cut off. */
export const isDurableTemp = (name: string): boolean => /\.\d+\.tmp$/.test(name)

export async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r')
    try {
      await dh.sync()
    } finally {
      await dh.close()
    }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}
