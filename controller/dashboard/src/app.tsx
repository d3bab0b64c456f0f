/**
 * The shell: navigation, the token login (kept in the browser's localStorage), one-time login
 * links (#/login?code=...), and the page the hash names.
 */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, getJson, onUnauthorized, postJson, storedToken, storeToken } from './api.ts'
import { navigate, useRoute, type Route } from './router.ts'
import { FleetPage } from './pages/fleet.tsx'
import { DevicePage } from './pages/device.tsx'
import { CampaignsPage } from './pages/campaigns.tsx'
import { CampaignPage } from './pages/campaign.tsx'
import { LutsPage } from './pages/luts.tsx'
import { ModelPage } from './pages/model.tsx'
import { ArchitecturesPage } from './pages/architectures.tsx'
import { ArchitecturePage } from './pages/architecture.tsx'

export interface Session {
  /** The API needs a token (false in insecure mode). */
  tokenRequired: boolean
  /** The pages may read and act: a token is held, or none is needed. */
  canRead: boolean
}

const NAV: [string, string][] = [
  ['fleet', 'Fleet'],
  ['campaigns', 'Campaigns'],
  ['luts', 'LUTs'],
  ['model', 'Latency model'],
  ['architectures', 'Architectures'],
]

function LoginForm({ onToken, error }: { onToken: (token: string) => void; error?: ApiError }) {
  const [value, setValue] = useState('')
  const [busy, setBusy] = useState(false)
  const [failure, setFailure] = useState<ApiError | undefined>(error)
  useEffect(() => setFailure(error), [error])
  const submit = async (e: Event) => {
    e.preventDefault()
    const token = value.trim()
    if (!token) return
    setBusy(true)
    try {
      const check = await postJson<{ valid: boolean }>('/dashboard/session', { token }, { token: null })
      if (check.valid) {
        setFailure(undefined)
        onToken(token)
      } else setFailure(new ApiError(401, 'FLEETNAS_ERR_AUTH_REQUIRED', 'The controller refused this token.'))
    } catch (err) {
      setFailure(err as ApiError)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class="login" onSubmit={submit}>
      <input
        type="password"
        name="token"
        placeholder="API token"
        autocomplete="current-password"
        aria-label="API token"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {failure && (
        <div class="login-error" role="alert">
          {failure.status === 401 && failure.code === 'FLEETNAS_ERR_AUTH_REQUIRED'
            ? 'The controller refused this token. Use the one in <dataDir>/api-token or FLEETNAS_API_TOKEN.'
            : failure.message}{' '}
          <code>{failure.code}</code>
        </div>
      )}
    </form>
  )
}

function Page({ route, session }: { route: Route; session: Session }) {
  const [section = 'fleet', id, ...rest] = route.parts
  switch (section) {
    case 'fleet':
      return <FleetPage session={session} />
    case 'devices':
      return id ? <DevicePage id={id} session={session} /> : <FleetPage session={session} />
    case 'campaigns':
      return id && id !== 'new' ? <CampaignPage id={id} session={session} /> : <CampaignsPage session={session} creating={id === 'new'} />
    case 'luts':
      return <LutsPage session={session} selected={id ? [id, ...rest] : []} query={route.query} />
    case 'model':
      return <ModelPage session={session} query={route.query} />
    case 'architectures':
      return id && id !== 'new' ? <ArchitecturePage id={id} session={session} /> : <ArchitecturesPage session={session} creating={id === 'new'} />
    default:
      return (
        <div class="notice">
          No page <code>{section}</code>. <a href="#/fleet">Back to the fleet</a>.
        </div>
      )
  }
}

export function App() {
  const route = useRoute()
  const [token, setToken] = useState<string | null>(() => storedToken())
  const [tokenRequired, setTokenRequired] = useState<boolean | undefined>(undefined)
  const [authError, setAuthError] = useState<ApiError | undefined>()

  useEffect(() => {
    getJson<{ tokenRequired: boolean }>('/dashboard/session', { token: null }).then(
      (s) => setTokenRequired(s.tokenRequired),
      () => setTokenRequired(true),
    )
    return onUnauthorized((e) => {
      storeToken(null)
      setToken(null)
      setAuthError(new ApiError(e.status, e.code, 'The controller no longer accepts the stored token; log in again.'))
    })
  }, [])

  // A one-time login link: trade the code for the token once, then forget the code.
  const code = route.parts[0] === 'login' ? route.query.get('code') : null
  useEffect(() => {
    if (!code) return
    postJson<{ token: string | null }>('/dashboard/login', { code }, { token: null }).then(
      (r) => {
        if (r.token) {
          storeToken(r.token)
          setToken(r.token)
        }
        setAuthError(undefined)
        navigate('#/fleet', true)
      },
      (e: ApiError) => {
        setAuthError(e)
        navigate('#/fleet', true)
      },
    )
  }, [code])

  const login = (t: string) => {
    storeToken(t)
    setToken(t)
    setAuthError(undefined)
  }
  const logout = () => {
    storeToken(null)
    setToken(null)
  }

  const section = route.parts[0] === 'devices' ? 'fleet' : (route.parts[0] ?? 'fleet')
  const session: Session | undefined = tokenRequired === undefined ? undefined : { tokenRequired, canRead: !tokenRequired || token !== null }

  return (
    <>
      <header>
        <a class="brand" href="#/fleet">
          fleetnas
        </a>
        <nav>
          {NAV.map(([to, label]) => (
            <a key={to} href={`#/${to}`} class={section === to ? 'active' : ''}>
              {label}
            </a>
          ))}
          <a href="/docs" target="_blank" rel="noopener">
            API
          </a>
        </nav>
        <div class="auth">
          {tokenRequired === false && <span class="muted">no token needed (insecure mode)</span>}
          {tokenRequired && token !== null && (
            <>
              <span class="muted">logged in</span>
              <button class="link" onClick={logout}>
                Log out
              </button>
            </>
          )}
          {tokenRequired && token === null && <LoginForm onToken={login} error={authError} />}
        </div>
      </header>
      <main key={token ?? 'anonymous'}>{session && code === null && <Page route={route} session={session} />}</main>
    </>
  )
}
