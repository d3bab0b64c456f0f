/** Small pieces every page uses: loading and error states, progress bars, state badges, tables of facts. */
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError, postJson } from './api.ts'

export interface Async<T> {
  data: T | undefined
  error: ApiError | Error | undefined
  loading: boolean
  reload: () => void
  setData: (fn: (old: T | undefined) => T | undefined) => void
}

/**
 * A Cancel action on a page's object: asks `question()` first, posts to `url`; the reply is the object
 * as canceled, so the page turns at once (the pushed event says the same). On an error (it ended
 * meanwhile) the object is read again, so the page shows how it did end.
 */
export function useCancel<T>(url: string, question: () => string, target: Async<T>) {
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const cancel = async () => {
    if (!confirm(question())) return
    setBusy(true)
    setError(undefined)
    try {
      const next = await postJson<T>(url)
      target.setData(() => next)
    } catch (e) {
      setError(e as ApiError)
      target.reload()
    } finally {
      setBusy(false)
    }
  }
  return { cancel, busy, error }
}

/** Runs `load` when `deps` change; an answer that arrives after a newer request is dropped. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const abort = new AbortController()
    setState((s) => ({ ...s, loading: true }))
    load(abort.signal).then(
      (data) => !abort.signal.aborted && setState({ data, loading: false }),
      (error: Error) => !abort.signal.aborted && error.name !== 'AbortError' && setState({ error, loading: false }),
    )
    return () => abort.abort()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick])
  const reload = useCallback(() => setTick((n) => n + 1), [])
  const setData = useCallback((fn: (old: T | undefined) => T | undefined) => setState((s) => ({ ...s, data: fn(s.data) })), [])
  return { data: state.data, error: state.error, loading: state.loading, reload, setData }
}

export function ErrorBox({ error, what }: { error: Error; what?: string }) {
  const code = error instanceof ApiError ? error.code : undefined
  return (
    <div class="error" role="alert">
      <strong>{what ? `Could not load ${what}` : 'Error'}</strong>
      {code && <code class="code">{code}</code>}
      <div>{error.message}</div>
    </div>
  )
}

export function Loading({ what }: { what: string }) {
  return <p class="muted loading">Loading {what}…</p>
}

export function Progress({ done, total, failed = 0 }: { done: number; total: number; failed?: number }) {
  const p = total > 0 ? done / total : 0
  const f = total > 0 ? failed / total : 0
  return (
    <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={done} title={`${done} of ${total}`}>
      <div class="bar ok" style={{ width: `${(p * 100).toFixed(2)}%` }} />
      {f > 0 && <div class="bar failed" style={{ width: `${(f * 100).toFixed(2)}%` }} />}
      <span class="label">{total > 0 ? `${Math.floor(p * 100)}%` : '–'}</span>
    </div>
  )
}

export function State({ state }: { state: string }) {
  return <span class={`state state-${state.toLowerCase()}`}>{state}</span>
}

export function Status({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`}>
      <span class="dot" aria-hidden="true" />
      {status}
    </span>
  )
}

export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <table class="facts">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function LiveBadge({ status }: { status: string }) {
  return <span class={`live live-${status}`} title="updates pushed by the controller (server-sent events)">{status === 'live' ? '● live' : status}</span>
}

/** A notice for pages that need a token the browser does not have. */
export function NeedsLogin({ what }: { what: string }) {
  return (
    <div class="notice">
      Log in with the controller's API token (top right) to see {what}. Without it the dashboard shows only what the controller
      publishes openly (<a href="/metrics">/metrics</a>, <a href="/healthz">/healthz</a>).
    </div>
  )
}

/**
 * A row of optional number fields (empty = the server's default), keyed by the body field each
 * fills: the campaign form's measurement settings, the request form's search settings.
 */
export function OptionalNumbers({
  fields,
  values,
  onChange,
  step = 'any',
}: {
  fields: readonly (readonly [string, string])[]
  values: Record<string, string>
  onChange: (values: Record<string, string>) => void
  step?: number | 'any'
}) {
  return (
    <div class="checks">
      {fields.map(([k, label]) => (
        <label key={k}>
          {label}
          <input
            name={k}
            type="number"
            step={step}
            min={0}
            style={{ width: '80px' }}
            placeholder="default"
            value={values[k] ?? ''}
            onInput={(e) => onChange({ ...values, [k]: (e.target as HTMLInputElement).value })}
          />
        </label>
      ))}
    </div>
  )
}
