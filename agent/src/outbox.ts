/**
 * On-disk outbox of result batches: a ResultsMessage is written durably before it is published
 * and kept until the controller acknowledges (jobId, seq), so a restart of the agent, the broker
 * or the controller loses nothing. Layout: `{dir}/{jobId}/{seq}.json` (ids are safe path parts).
 */
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { checkMessage, isAtomicWriteTemp, isValidId, writeFileAtomic, type ResultsMessage } from '@fleetnas/shared'

export interface OutboxEntry {
  message: ResultsMessage
  /** When it was last published (ms since epoch); 0 if not yet in this process. */
  publishedAt: number
}

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>()

  private constructor(readonly dir: string) {}

  /** Opens (and reloads) the outbox; unreadable or invalid files are reported, not fatal. */
  static async open(dir: string, onBadFile?: (file: string, why: string) => void): Promise<Outbox> {
    const box = new Outbox(dir)
    await mkdir(dir, { recursive: true })
    for (const jobId of await readdir(dir)) {
      if (!isValidId(jobId)) continue
      const jobDir = join(dir, jobId)
      let files: string[]
      try {
        files = await readdir(jobDir)
      } catch {
        continue
      }
      // Emptied job folders are removed here only: removing one while a batch is written races.
      if (files.length === 0) {
        await rmdir(jobDir).catch(() => undefined)
        continue
      }
      for (const f of files) {
        // A temp file is a write cut off by a crash: its batch was never put, so nothing refers to it.
        if (isAtomicWriteTemp(f)) {
          await rm(join(jobDir, f), { force: true })
          continue
        }
        if (!/^\d+\.json$/.test(f)) continue
        const file = join(jobDir, f)
        try {
          const checked = checkMessage('results', JSON.parse(await readFile(file, 'utf8')))
          if (!checked.ok) throw new Error(checked.reason)
          box.entries.set(entryKey(checked.value.jobId, checked.value.seq), { message: checked.value, publishedAt: 0 })
        } catch (e) {
          onBadFile?.(file, (e as Error).message)
        }
      }
    }
    return box
  }

  /** Durably stores a batch; resolves once it is on disk. */
  async put(message: ResultsMessage): Promise<void> {
    const jobDir = join(this.dir, message.jobId)
    await mkdir(jobDir, { recursive: true })
    await writeFileAtomic(join(jobDir, `${message.seq}.json`), JSON.stringify(message))
    this.entries.set(entryKey(message.jobId, message.seq), { message, publishedAt: 0 })
  }

  /** Drops acknowledged batches; returns the seqs that were pending (duplicates ack nothing). */
  async ack(jobId: string, seqs: readonly number[]): Promise<number[]> {
    const removed: number[] = []
    for (const seq of seqs) {
      const k = entryKey(jobId, seq)
      if (!this.entries.has(k)) continue
      await rm(join(this.dir, jobId, `${seq}.json`), { force: true })
      this.entries.delete(k)
      removed.push(seq)
    }
    return removed
  }

  markPublished(message: ResultsMessage, at = Date.now()): void {
    const e = this.entries.get(entryKey(message.jobId, message.seq))
    if (e) e.publishedAt = at
  }

  /** Pending batches, oldest job and seq first. */
  pending(): OutboxEntry[] {
    return [...this.entries.values()].sort(
      (a, b) => a.message.jobId.localeCompare(b.message.jobId) || a.message.seq - b.message.seq,
    )
  }

  get size(): number {
    return this.entries.size
  }

  /** Highest pending seq of a job, or -1. */
  maxSeq(jobId: string): number {
    let max = -1
    for (const e of this.entries.values()) if (e.message.jobId === jobId && e.message.seq > max) max = e.message.seq
    return max
  }

  /** Keys (and kinds) of a job's pending measurements. */
  pendingKeys(jobId: string): Set<string> {
    const keys = new Set<string>()
    for (const e of this.entries.values())
      if (e.message.jobId === jobId) for (const m of e.message.measurements) keys.add(m.key)
    return keys
  }
}

const entryKey = (jobId: string, seq: number) => `${jobId}\u0000${seq}`
