/**
 * The /v1/events stream (server-sent events) read with fetch, because EventSource cannot send the
 * bearer header. Reconnects after a drop with a bounded back-off; the page never polls.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { authHeaders } from './api.ts'
import type { ArchitectureRequestView, CampaignView, DeviceView } from './types.ts'

/**
 * A list with one item replaced by id, or added (at the end, or at the start for newest-first lists):
 * how a page applies a pushed change to what it fetched. An unloaded list stays unloaded.
 */
export function upsertById<T extends { id: string }>(list: T[] | undefined, item: T, newAt: 'start' | 'end' = 'end'): T[] | undefined {
  if (!list) return list
  const i = list.findIndex((x) => x.id === item.id)
  if (i < 0) return newAt === 'start' ? [item, ...list] : [...list, item]
  const next = list.slice()
  next[i] = item
  return next
}

export interface LiveHandlers {
  device?: (d: DeviceView) => void
  campaign?: (c: CampaignView) => void
  architecture?: (r: ArchitectureRequestView) => void
}

export type LiveStatus = 'connecting' | 'live' | 'reconnecting'

const MAX_BACKOFF_MS = 10_000

/** Parses one SSE block ("event: x\ndata: {...}") and hands it on. */
function dispatch(block: string, on: LiveHandlers): void {
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
  }
  if (data.length === 0) return
  const payload = JSON.parse(data.join('\n'))
  if (event === 'device') on.device?.(payload)
  else if (event === 'campaign') on.campaign?.(payload)
  else if (event === 'architecture') on.architecture?.(payload)
}

export function subscribe(query: string, on: LiveHandlers, status: (s: LiveStatus) => void): () => void {
  const abort = new AbortController()
  let backoff = 500
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(`/v1/events${query}`, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal: abort.signal })
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let cut: number
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            if (block.startsWith('event: ready')) {
              status('live')
              backoff = 500
            } else dispatch(block, on)
          }
        }
      } catch {
        if (abort.signal.aborted) return
      }
      if (abort.signal.aborted) return
      status('reconnecting')
      await new Promise((r) => setTimeout(r, backoff))
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    }
  }
  status('connecting')
  void run()
  return () => abort.abort()
}

/** Subscribes while the component is mounted; handlers may change between renders. */
export function useLive(query: string | null, on: LiveHandlers): LiveStatus {
  const [state, setState] = useState<LiveStatus>('connecting')
  const handlers = useRef(on)
  handlers.current = on
  useEffect(() => {
    if (query === null) return
    return subscribe(
      query,
      {
        device: (d) => handlers.current.device?.(d),
        campaign: (c) => handlers.current.campaign?.(c),
        architecture: (r) => handlers.current.architecture?.(r),
      },
      setState,
    )
  }, [query])
  return state
}
