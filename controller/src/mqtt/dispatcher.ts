/**
 * The one entry point for inbound MQTT messages: topic -> message family -> decode against the
 * shared schema -> that family's handler. A message that fails its schema, or that a handler
 * rejects (wrong device, unknown job), is counted by topic kind and reason class, logged once per
 * reason, and dropped; nothing of it is stored and no exception escapes.
 */
import { decodeMessage, parseTopic, type MessageKind, type MessageOf, type ParsedTopic } from '@fleetnas/shared'
import type { HandlerContext } from './handlers/context.ts'
import { handleStatus } from './handlers/status.ts'
import { handleInfo } from './handlers/info.ts'
import { handleJobState } from './handlers/job-state.ts'
import { handleResults } from './handlers/results.ts'
import type { DeviceLimits } from './device-limits.ts'

/** What a handler says about a message it refuses. */
export interface Rejection {
  reason: RejectReason
  detail: string
}

export type RejectReason = 'too_large' | 'not_json' | 'schema' | 'unknown_topic' | 'device_mismatch' | 'unknown_job' | 'handler_error'

export type Handler<K extends MessageKind> = (
  ctx: HandlerContext,
  msg: MessageOf[K],
  topic: ParsedTopic,
  meta: { retained: boolean },
) => Rejection | void

const handlers: { [K in 'status' | 'info' | 'jobState' | 'results']: Handler<K> } = {
  status: handleStatus,
  info: handleInfo,
  jobState: handleJobState,
  results: handleResults,
}

export const REJECTED_COUNTER = 'mqtt_rejected_messages'
const MAX_LOGGED_REASONS = 1000

function reasonClass(decodeReason: string): RejectReason {
  if (decodeReason.startsWith('payload of')) return 'too_large'
  if (decodeReason.startsWith('not JSON')) return 'not_json'
  return 'schema'
}

export interface DispatcherOptions {
  /** Per-device flood limit, checked before a message is parsed. */
  limits?: DeviceLimits
}

export function createDispatcher(ctx: HandlerContext, opts: DispatcherOptions = {}) {
  const logged = new Set<string>()
  const logOnce = (once: string, fields: object, msg: string) => {
    if (logged.has(once) || logged.size >= MAX_LOGGED_REASONS) return
    logged.add(once)
    ctx.log.warn(fields, msg)
  }

  const reject = (topicKind: string, r: Rejection, topic: string) => {
    try {
      ctx.store.counters.increment(REJECTED_COUNTER, { topic_kind: topicKind, reason: r.reason })
    } catch (err) {
      // A store locked past busy_timeout (by another process) must not turn a dropped message into a crash.
      ctx.log.warn({ err: (err as Error).message, topic }, 'rejected message not counted: store unavailable')
    }
    logOnce(`${topicKind}:${r.reason}:${r.detail}`, { topic, reason: r.reason, detail: r.detail }, 'mqtt message dropped (logged once per reason)')
  }

  return function dispatch(topic: string, payload: Buffer, retained = false): void {
    const parsed = parseTopic(topic)
    if (!parsed || !(parsed.kind in handlers)) return reject('unknown', { reason: 'unknown_topic', detail: topic }, topic)
    // An empty retained payload is the broker clearing a retained message, not a message.
    if (payload.length === 0 && retained) return
    const kind = parsed.kind as keyof typeof handlers
    // Counted in memory, not in the store: a flood must not turn into a write per message.
    if (opts.limits && !opts.limits.allow(parsed.deviceId, kind))
      return logOnce(`throttled:${parsed.deviceId}`, { deviceId: parsed.deviceId, topic }, 'device over its message rate: messages dropped (results are resent by the agent; logged once per device)')
    const decoded = decodeMessage(kind, payload)
    if (!decoded.ok) return reject(kind, { reason: reasonClass(decoded.reason), detail: decoded.reason }, topic)
    try {
      const rejection = (handlers[kind] as Handler<typeof kind>)(ctx, decoded.value as never, parsed, { retained })
      if (rejection) reject(kind, rejection, topic)
    } catch (e) {
      ctx.log.error({ err: e, topic }, 'mqtt handler failed')
      reject(kind, { reason: 'handler_error', detail: (e as Error).message }, topic)
    }
  }
}
export type Dispatch = ReturnType<typeof createDispatcher>
