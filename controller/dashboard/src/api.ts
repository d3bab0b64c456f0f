/**
 * The controller API as the pages use it: same origin, the bearer token from the browser's
 * storage, errors as ApiError with the server's FLEETNAS_ERR_* code. A 401 on a stored token
 * forgets it and tells the shell (the token was rotated or is wrong).
 */

const TOKEN_KEY = 'fleetnas.token'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

export function storeToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY)
  else localStorage.setItem(TOKEN_KEY, token)
}

type Listener = (e: ApiError) => void
const unauthorizedListeners = new Set<Listener>()
/** The shell listens here to drop a token the controller no longer takes. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn)
  return () => unauthorizedListeners.delete(fn)
}

export function authHeaders(token = storedToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {}
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text()
  try {
    const body = JSON.parse(text) as { code?: string; message?: string }
    return new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText)
  } catch {
    return new ApiError(res.status, `HTTP_${res.status}`, text || res.statusText)
  }
}

export interface RequestOptions {
  method?: string
  body?: unknown
  /** Check this token instead of the stored one (login). */
  token?: string | null
  signal?: AbortSignal
}

export async function request(path: string, o: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = authHeaders(o.token === undefined ? storedToken() : o.token)
  if (o.body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, { method: o.method ?? 'GET', headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: o.signal })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw new ApiError(0, 'UNREACHABLE', `the controller does not answer (${(e as Error).message})`)
  }
  if (!res.ok) {
    const err = await errorOf(res)
    if (res.status === 401 && o.token === undefined && storedToken() !== null) for (const fn of unauthorizedListeners) fn(err)
    throw err
  }
  return res
}

export async function getJson<T>(path: string, o: RequestOptions = {}): Promise<T> {
  return (await request(path, o)).json() as Promise<T>
}

export async function postJson<T>(path: string, body: unknown = {}, o: RequestOptions = {}): Promise<T> {
  return (await request(path, { ...o, method: 'POST', body })).json() as Promise<T>
}

/** The file name a content-disposition header gives (`attachment; filename="x.onnx"`), if any. */
function attachmentName(header: string | null): string | undefined {
  return header ? /filename="([^"]+)"/.exec(header)?.[1] : undefined
}

/**
 * Downloads an authenticated URL as a file (a plain link cannot carry the bearer header), named as
 * the controller names it when it does (it knows what the bytes are, e.g. fine-tuned weights).
 * Resolves to the response's headers, for pages that say what they got.
 */
export async function download(path: string, filename: string): Promise<Headers> {
  const res = await request(path)
  const blob = await res.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = attachmentName(res.headers.get('content-disposition')) ?? filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return res.headers
}
