/**
 * The one poll-until loop, for state that announces no event (another process, an HTTP API): calls
 * `probe` until it returns a value other than undefined and resolves with it. Bounded by
 * `timeoutMs` (a last probe runs at the deadline) and by `signal`, which also cuts a wait short.
 * Where an event exists, wait for the event instead.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { defineError } from './errors.ts'

export const PollTimedOut = defineError('FLEETNAS_ERR_POLL_TIMEOUT', 504, (what: string, timeoutMs: number) => `timed out after ${duration(timeoutMs)} waiting for ${what}`)
export const PollInterrupted = defineError('FLEETNAS_ERR_POLL_INTERRUPTED', 500, (what: string) => `interrupted while waiting for ${what}`)

export interface PollOptions {
  /** What is awaited, for the errors: "the agent to come online". */
  what: string
  /** Pause between probes. */
  everyMs: number
  /** Give up after this long (PollTimedOut); without it only `signal` ends the wait. */
  timeoutMs?: number
  /** Aborting ends the wait with PollInterrupted. */
  signal?: AbortSignal
}

export async function pollUntil<T>(probe: () => T | undefined | Promise<T | undefined>, o: PollOptions): Promise<T> {
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs
  for (;;) {
    if (o.signal?.aborted) throw PollInterrupted(o.what)
    const v = await probe()
    if (v !== undefined) return v
    const left = deadline - Date.now()
    if (left <= 0) throw PollTimedOut(o.what, o.timeoutMs!)
    try {
      await sleep(Math.min(o.everyMs, left), undefined, { signal: o.signal })
    } catch {
      throw PollInterrupted(o.what) // the only way the sleep rejects
    }
  }
}

const duration = (ms: number) => (ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`)
