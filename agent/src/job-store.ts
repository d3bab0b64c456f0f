/**
 * Durable job bookkeeping in `{stateDir}/jobs`:
 * - `{jobId}.json`: the job message, its last state and reason (rewritten on state changes), so a
 *   restarted agent resumes an unfinished job and re-acknowledges a finished one;
 * - `{jobId}.journal`: one line per result batch written to the outbox, `{"seq":n,"keys":[...]}`,
 *   appended after the batch is on disk. Sequence numbers and measured keys are derived from it
 *   (and from the outbox), so a seq is never reused for different data, even across restarts.
 */
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { checkMessage, isAtomicWriteTemp, isValidId, writeFileAtomic, type AgentJobState, type JobMessage } from '@fleetnas/shared'

export const TERMINAL_STATES: ReadonlySet<AgentJobState> = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED'])

export interface JobRecord {
  jobId: string
  /** Absent for a job canceled or rejected before a valid job message arrived. */
  job?: JobMessage
  state: AgentJobState
  reason?: string
  /** Order of arrival, for resuming queued jobs in order. */
  acceptedAt: string
  updatedAt: string
}

interface JobProgress {
  nextSeq: number
  measured: Set<string>
}

export class JobStore {
  private readonly records = new Map<string, JobRecord>()
  private readonly progress = new Map<string, JobProgress>()

  private constructor(readonly dir: string) {}

  static async open(dir: string, onBadFile?: (file: string, why: string) => void): Promise<JobStore> {
    const store = new JobStore(dir)
    await mkdir(dir, { recursive: true })
    for (const name of await readdir(dir)) {
      if (isAtomicWriteTemp(name)) {
        await rm(join(dir, name), { force: true }) // a record write cut off by a crash; the old record stands
        continue
      }
      const m = /^(.+)\.json$/.exec(name)
      if (!m || !isValidId(m[1])) continue
      const file = join(dir, name)
      try {
        const rec = JSON.parse(await readFile(file, 'utf8')) as JobRecord
        if (rec.jobId !== m[1] || typeof rec.state !== 'string') throw new Error('not a job record')
        if (rec.job !== undefined) {
          const checked = checkMessage('jobs', rec.job)
          if (!checked.ok || checked.value.type !== 'job') throw new Error(checked.ok ? 'not a job' : checked.reason)
        }
        store.records.set(rec.jobId, rec)
        store.progress.set(rec.jobId, await readJournal(join(dir, `${rec.jobId}.journal`)))
      } catch (e) {
        onBadFile?.(file, (e as Error).message)
      }
    }
    return store
  }

  get(jobId: string): JobRecord | undefined {
    return this.records.get(jobId)
  }

  /** Jobs that were accepted but never finished, oldest first. */
  unfinished(): JobRecord[] {
    return [...this.records.values()]
      .filter((r) => !TERMINAL_STATES.has(r.state) && r.job !== undefined)
      .sort((a, b) => a.acceptedAt.localeCompare(b.acceptedAt))
  }

  async setState(jobId: string, state: AgentJobState, fields: { job?: JobMessage; reason?: string } = {}): Promise<JobRecord> {
    const now = new Date().toISOString()
    const prev = this.records.get(jobId)
    const rec: JobRecord = {
      jobId,
      job: fields.job ?? prev?.job,
      state,
      acceptedAt: prev?.acceptedAt ?? now,
      updatedAt: now,
    }
    if (fields.reason !== undefined) rec.reason = fields.reason
    await writeFileAtomic(join(this.dir, `${jobId}.json`), JSON.stringify(rec))
    this.records.set(jobId, rec)
    if (!this.progress.has(jobId)) this.progress.set(jobId, { nextSeq: 0, measured: new Set() })
    return rec
  }

  /** Next free seq, never below `floor` (the outbox's highest pending seq + 1) nor the job's `seqFrom`. */
  nextSeq(jobId: string, floor = 0): number {
    return Math.max(this.progress.get(jobId)?.nextSeq ?? 0, floor, this.records.get(jobId)?.job?.seqFrom ?? 0)
  }

  /** Keys already written to the outbox for this job (pending or acknowledged). */
  measuredKeys(jobId: string): ReadonlySet<string> {
    return this.progress.get(jobId)?.measured ?? new Set()
  }

  /** Records a batch that is already in the outbox. */
  async recordBatch(jobId: string, seq: number, keys: readonly string[]): Promise<void> {
    const fh = await open(join(this.dir, `${jobId}.journal`), 'a')
    try {
      await fh.appendFile(`${JSON.stringify({ seq, keys })}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    const p = this.progress.get(jobId) ?? { nextSeq: 0, measured: new Set<string>() }
    p.nextSeq = Math.max(p.nextSeq, seq + 1)
    for (const k of keys) p.measured.add(k)
    this.progress.set(jobId, p)
  }
}

async function readJournal(file: string): Promise<JobProgress> {
  const progress: JobProgress = { nextSeq: 0, measured: new Set() }
  let text = ''
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return progress
  }
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      const { seq, keys } = JSON.parse(line) as { seq: number; keys: string[] }
      progress.nextSeq = Math.max(progress.nextSeq, seq + 1)
      for (const k of keys) progress.measured.add(k)
    } catch {
      // a torn last line after a crash: the outbox file written before it is authoritative
    }
  }
  return progress
}
