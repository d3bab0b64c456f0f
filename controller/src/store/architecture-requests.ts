/** Architecture requests: what was asked, where it stands, and what it found. */
import type Database from 'better-sqlite3'

export const REQUEST_STATES = ['QUEUED', 'PROFILING', 'SEARCHING', 'FINETUNING', 'VERIFYING', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const
export type RequestState = (typeof REQUEST_STATES)[number]
export const OPEN_REQUEST_STATES: ReadonlySet<RequestState> = new Set(['QUEUED', 'PROFILING', 'SEARCHING', 'FINETUNING', 'VERIFYING'])

export interface StoredRequest<Req = unknown, Progress = unknown, Result = unknown> {
  id: string
  state: RequestState
  request: Req
  progress: Progress | null
  result: Result | null
  error: { code: string; message: string } | null
  createdAt: string
  updatedAt: string
}

type Raw = { id: string; state: RequestState; request: string; progress: string | null; result: string | null; error: string | null; createdAt: string; updatedAt: string }

const parse = (r: Raw): StoredRequest => ({
  ...r,
  request: JSON.parse(r.request),
  progress: r.progress === null ? null : JSON.parse(r.progress),
  result: r.result === null ? null : JSON.parse(r.result),
  error: r.error === null ? null : JSON.parse(r.error),
})

const COLUMNS = `id, state, request, progress, result, error, created_at AS createdAt, updated_at AS updatedAt`

export function architectureRequestQueries(db: Database.Database) {
  const insert = db.prepare(`INSERT INTO architecture_requests (id, state, request, created_at, updated_at) VALUES (?, 'QUEUED', ?, ?, ?)`)
  const get = db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM architecture_requests WHERE id = ?`)
  const list = db.prepare<[], Raw>(`SELECT ${COLUMNS} FROM architecture_requests ORDER BY created_at DESC, id`)
  const open = db.prepare<[], { id: string }>(
    `SELECT id FROM architecture_requests WHERE state IN ('QUEUED', 'PROFILING', 'SEARCHING', 'FINETUNING', 'VERIFYING') ORDER BY created_at, id`,
  )
  const update = db.prepare(
    `UPDATE architecture_requests SET state = @state, progress = coalesce(@progress, progress), result = coalesce(@result, result),
       error = coalesce(@error, error), updated_at = @now WHERE id = @id`,
  )
  return {
    create: (id: string, request: unknown, now: string) => insert.run(id, JSON.stringify(request), now, now),
    get: (id: string): StoredRequest | undefined => {
      const r = get.get(id)
      return r && parse(r)
    },
    list: (): StoredRequest[] => list.all().map(parse),
    /** Requests a restart must pick up again, oldest first. */
    openIds: (): string[] => open.all().map((r) => r.id),
    update: (id: string, state: RequestState, now: string, patch: { progress?: unknown; result?: unknown; error?: { code: string; message: string } } = {}) =>
      update.run({
        id,
        state,
        now,
        progress: patch.progress === undefined ? null : JSON.stringify(patch.progress),
        result: patch.result === undefined ? null : JSON.stringify(patch.result),
        error: patch.error === undefined ? null : JSON.stringify(patch.error),
      }),
  }
}
export type ArchitectureRequestQueries = ReturnType<typeof architectureRequestQueries>
