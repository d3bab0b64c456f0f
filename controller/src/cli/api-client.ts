/**
 * A thin HTTP client for the controller API, used by every CLI command that talks to a running
 * controller. Server errors come back as FleetnasError with the server's code and status.
 */
import { defineError, FleetnasError } from '@fleetnas/shared'

export const Unreachable = defineError(
  'FLEETNAS_ERR_CLI_UNREACHABLE',
  503,
  (url: string, why: string) => `cannot reach the controller at ${url} (${why}); is it running? (--api or FLEETNAS_API)`,
)

export interface ApiOptions {
  api?: string
  token?: string
}

export const DEFAULT_API = 'http://127.0.0.1:8080'

export class ApiClient {
  readonly base: string
  private readonly token?: string

  constructor(opts: ApiOptions = {}) {
    this.base = (opts.api ?? process.env.FLEETNAS_API ?? DEFAULT_API).replace(/\/+$/, '')
    this.token = opts.token ?? process.env.FLEETNAS_API_TOKEN
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.requestText(method, path, body)
    return (text ? JSON.parse(text) : undefined) as T
  }

  async requestText(method: string, path: string, body?: unknown): Promise<string> {
    return (await this.fetchOk(method, path, body)).text()
  }

  /** A binary reply (a model, a checkpoint). */
  async requestBytes(method: string, path: string, body?: unknown): Promise<Uint8Array> {
    return new Uint8Array(await (await this.fetchOk(method, path, body)).arrayBuffer())
  }

  /** The reply when it is a success; the server's error (code, status, message) as a FleetnasError otherwise. */
  private async fetchOk(method: string, path: string, body?: unknown): Promise<Response> {
    const url = `${this.base}${path}`
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.token) headers.authorization = `Bearer ${this.token}`
    let res: Response
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause
      throw Unreachable(this.base, cause?.code ?? cause?.message ?? (e as Error).message)
    }
    if (res.ok) return res
    const text = await res.text()
    let parsed: { code?: string; message?: string } = {}
    try {
      parsed = JSON.parse(text)
    } catch {
      /* not JSON: keep the raw text below */
    }
    throw new FleetnasError(parsed.code ?? `FLEETNAS_ERR_HTTP_${res.status}`, parsed.message ?? (text || res.statusText), res.status)
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path)
  }

  post<T = unknown>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body ?? {})
  }
}
