import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Fastify from 'fastify'
import type { BlockSpec } from '@fleetnas/shared'
import { api, startTestController, waitFor } from '../testing/harness.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'
import { ErrorSchema } from '../http/schemas.ts'
import { createDashboard } from './plugin.ts'
import { LoginLinks } from './login-links.ts'

const TOKEN = 'dashboard-token-123'

t.test('login links: a code works once, then never; an expired one never', async (t) => {
  let now = 1_000
  const links = new LoginLinks(() => now)
  const a = links.issue(60_000)
  t.equal(links.redeem(a.code), true)
  t.equal(links.redeem(a.code), false, 'used')
  const b = links.issue(60_000)
  now += 60_001
  t.equal(links.redeem(b.code), false, 'expired')
  t.equal(links.redeem('made-up'), false)
})

t.test('session, token check and one-time login over HTTP', async (t) => {
  const ctl = await startTestController(t, { insecure: false, apiToken: TOKEN })
  t.same((await api(ctl, 'GET', '/dashboard/session', undefined, '')).json, { tokenRequired: true }, 'open: says a token is needed')

  t.same((await api(ctl, 'POST', '/dashboard/session', { token: 'not-the-token' }, '')).json, { tokenRequired: true, valid: false }, 'wrong token')
  t.same((await api(ctl, 'POST', '/dashboard/session', { token: TOKEN }, '')).json, { tokenRequired: true, valid: true }, 'right token')

  t.equal((await api(ctl, 'POST', '/v1/dashboard/login-links', {}, '')).status, 401, 'only a token holder makes links')
  const link = await api(ctl, 'POST', '/v1/dashboard/login-links', {})
  t.equal(link.status, 201)
  t.match(link.json.path, /^\/#\/login\?code=[\w-]{20,}$/)
  t.match(link.json.url, /^http:\/\/.+\/#\/login\?code=/)
  const code = link.json.path.split('code=')[1]

  const first = await api(ctl, 'POST', '/dashboard/login', { code }, '')
  t.equal(first.status, 200)
  t.same(first.json, { token: TOKEN }, 'the code buys the token')
  const again = await api(ctl, 'POST', '/dashboard/login', { code }, '')
  t.equal(again.status, 401)
  t.equal(again.json.code, 'FLEETNAS_ERR_DASHBOARD_LOGIN_CODE', 'a used code is refused with its own code')
  t.equal((await api(ctl, 'POST', '/dashboard/login', {}, '')).json.code, 'FLEETNAS_ERR_HTTP_VALIDATION')
})

t.test('insecure mode: no token needed, a login link yields no token', async (t) => {
  const ctl = await startTestController(t)
  t.same((await api(ctl, 'GET', '/dashboard/session')).json, { tokenRequired: false })
  t.same((await api(ctl, 'POST', '/dashboard/session', { token: 'anything' })).json, { tokenRequired: false, valid: true })
  const code = (await api(ctl, 'POST', '/v1/dashboard/login-links', {})).json.path.split('code=')[1]
  t.same((await api(ctl, 'POST', '/dashboard/login', { code })).json, { token: null })
})

t.test('static files: index.html never cached and with a CSP, hashed assets immutable, unknown paths 404', async (t) => {
  const dist = mkdtempSync(join(tmpdir(), 'fleetnas-dist-'))
  t.teardown(() => rmSync(dist, { recursive: true, force: true }))
  writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="app"></div>')
  writeFileSync(join(dist, 'app-ABC.js'), 'console.log(1)')
  const app = Fastify()
  t.teardown(() => app.close())
  app.addSchema(ErrorSchema)
  await app.register(createDashboard({ apiToken: TOKEN, distDir: dist }).site)
  const index = await app.inject('/')
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /text\/html/)
  t.equal(index.headers['cache-control'], 'no-cache')
  t.match(index.headers['content-security-policy'], /default-src 'self'/)
  const js = await app.inject('/app-ABC.js')
  t.equal(js.statusCode, 200)
  t.match(js.headers['cache-control'], /immutable/)
  t.equal((await app.inject('/nope.js')).statusCode, 404)
})

t.test('not built: / says how to build it', async (t) => {
  const dist = mkdtempSync(join(tmpdir(), 'fleetnas-nodist-'))
  t.teardown(() => rmSync(dist, { recursive: true, force: true }))
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.addSchema(ErrorSchema)
  await app.register(createDashboard({ apiToken: undefined, distDir: dist }).site)
  const res = await app.inject('/')
  t.equal(res.statusCode, 503)
  t.match(res.body, /npm run build/)
})

/** Reads server-sent events from a live HTTP stream until `until` says stop. */
async function readEvents(url: string, headers: Record<string, string>, until: (event: string, data: any) => boolean, timeoutMs = 10_000) {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  const seen: { event: string; data: any }[] = []
  try {
    const res = await fetch(url, { headers, signal: abort.signal })
    if (res.status !== 200) return { status: res.status, seen, contentType: res.headers.get('content-type') }
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      let cut: number
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (!event || data === undefined) continue
        seen.push({ event, data: JSON.parse(data) })
        if (until(event, JSON.parse(data))) return { status: 200, seen, contentType: res.headers.get('content-type') }
      }
    }
    return { status: 200, seen, contentType: res.headers.get('content-type') }
  } catch (e) {
    if (abort.signal.aborted) return { status: 200, seen, contentType: 'text/event-stream (timed out)' }
    throw e
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
}

t.test('/v1/events: behind the token; pushes device status and campaign progress to the end', async (t) => {
  const ctl = await startTestController(t, { insecure: false, apiToken: TOKEN })
  const url = `${ctl.httpUrl}/v1/events`
  t.equal((await readEvents(url, {}, () => true)).status, 401, 'no token, no stream')

  const auth = { authorization: `Bearer ${TOKEN}` }
  const secret = (await api(ctl, 'POST', '/v1/devices/pi-1/credentials', {})).json.secret
  // The stream is open before the device connects, so its coming online is an event.
  const online = readEvents(url, auth, (e, d) => e === 'device' && d.id === 'pi-1' && d.status === 'online')
  await new Promise((r) => setTimeout(r, 100))
  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-1', username: 'pi-1', password: secret, batchSize: 1 })
  t.teardown(() => agent.stop())
  const dev = await online
  t.match(dev.contentType, /text\/event-stream/)
  t.equal(dev.seen.at(-1)!.data.status, 'online', 'device online pushed')
  await waitFor('device registered', () => ctl.store.devices.get('pi-1')?.hardwareProfile)

  const blocks: BlockSpec[] = [3, 5, 7].map((k) => ({ op: 'conv', kernel: k, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 8 }))
  let id = ''
  const progress = readEvents(`${url}?devices=false`, auth, (e, d) => e === 'campaign' && d.id === id && d.state === 'SUCCEEDED')
  await new Promise((r) => setTimeout(r, 100))
  id = (await api(ctl, 'POST', '/v1/campaigns', { name: 'sse', blocks, targets: { devices: ['pi-1'] } })).json.id
  const run = await progress
  const ours = run.seen.filter((s) => s.event === 'campaign' && s.data.id === id)
  // Changes within EVENT_FLUSH_MS are sent once, as the state at that moment: the fake agent is fast.
  t.ok(ours.length >= 1 && ours.length <= 10, `campaign events coalesced (${ours.length})`)
  t.same(ours.at(-1)!.data.progress, { total: 3, succeeded: 3, failed: 0 }, 'the last one is complete')
  t.equal(ours.at(-1)!.data.executions[0].done, 3, 'with its executions')
  t.notOk(run.seen.some((s) => s.event === 'device'), 'devices=false: no device events')

  // A stream scoped to one campaign hears nothing of another.
  const other = readEvents(`${url}?campaign=c-none`, auth, (e) => e === 'campaign', 1500)
  await api(ctl, 'POST', '/v1/campaigns', { name: 'sse-2', blocks, targets: { devices: ['pi-1'] } })
  t.same((await other).seen.filter((s) => s.event === 'campaign'), [], 'scoped stream stays quiet')
})

t.test('/v1/events: architecture request changes, all of them or one request', async (t) => {
  const ctl = await startTestController(t)
  const url = `${ctl.httpUrl}/v1/events`
  const now = new Date().toISOString()
  for (const id of ['a-one', 'a-two']) ctl.store.architectureRequests.create(id, { hardwareProfile: 'box', task: { way: 5, shot: 1 } }, now)
  const all = readEvents(`${url}?devices=false&campaigns=false`, {}, (e, d) => e === 'architecture' && d.state === 'SUCCEEDED')
  const one = readEvents(`${url}?architecture=a-two`, {}, (e, d) => e === 'architecture' && d.state === 'SUCCEEDED', 2000)
  const none = readEvents(`${url}?architectures=false`, {}, (e) => e === 'architecture', 1500)
  await new Promise((r) => setTimeout(r, 100))
  ctl.store.architectureRequests.update('a-one', 'SEARCHING', now, { progress: { phase: 'searching', generation: 1, generations: 4 } })
  ctl.http.events.architecture('a-one')
  await new Promise((r) => setTimeout(r, 300))
  ctl.store.architectureRequests.update('a-one', 'SUCCEEDED', now, { result: { answer: 1 } })
  ctl.http.events.architecture('a-one')
  const seen = (await all).seen.filter((s) => s.event === 'architecture')
  t.match(seen, [{ data: { id: 'a-one', state: 'SEARCHING', progress: { generation: 1, generations: 4 } } }, { data: { id: 'a-one', state: 'SUCCEEDED', result: { answer: 1 } } }])
  t.same((await one).seen.filter((s) => s.event === 'architecture'), [], 'a stream scoped to another request stays quiet')
  t.same((await none).seen.filter((s) => s.event === 'architecture'), [], 'architectures=false: no architecture events')
})

t.test('an open event stream does not hold up stopping the controller', async (t) => {
  const ctl = await startTestController(t)
  const res = await fetch(`${ctl.httpUrl}/v1/events`)
  t.equal(res.status, 200)
  const started = Date.now()
  await ctl.stop()
  t.ok(Date.now() - started < 5000, 'stopped promptly')
  await res.body?.cancel().catch(() => {})
})

t.test('GET /v1/dashboard/luts/:profile: the heatmap rows with their block specs; 404 with a code for a missing LUT', async (t) => {
  const ctl = await startTestController(t, { insecure: false, apiToken: TOKEN })
  const scope = { hardwareProfile: 'rpi4', runtime: 'onnxruntime', threads: 4, backend: 'cpu' }
  const stats = { medianMs: 1.5, p10Ms: 1.4, p90Ms: 1.7, cv: 0.04, samples: 60, devices: 2, spreadMs: 0.1, noisy: false, ciLowMs: 1.45, ciHighMs: 1.55, overheadMs: 0.005, belowOverhead: false }
  const now = new Date().toISOString()
  ctl.store.luts.upsert(scope, 'block', 'conv-k3-s1-i28x28x16-o28x28x32-bn-relu', stats, now)
  ctl.store.luts.upsert(scope, 'block', 'head-gap-fc-i1x1x64-o5', { ...stats, medianMs: 0.01 }, now)
  t.equal((await api(ctl, 'GET', '/v1/dashboard/luts/rpi4?threads=4', undefined, '')).status, 401, 'behind the token')
  const lut = await api(ctl, 'GET', '/v1/dashboard/luts/rpi4?runtime=onnxruntime&threads=4')
  t.equal(lut.status, 200)
  t.match(lut.json, { hardwareProfile: 'rpi4', runtime: 'onnxruntime', threads: 4 })
  t.same(
    lut.json.entries.map((e: { key: string; block: { op: string } }) => [e.key, e.block.op]),
    [
      ['conv-k3-s1-i28x28x16-o28x28x32-bn-relu', 'conv'],
      ['head-gap-fc-i1x1x64-o5', 'head'],
    ],
  )
  t.match(lut.json.entries[0], { medianMs: 1.5, p10Ms: 1.4, p90Ms: 1.7, ciLowMs: 1.45, ciHighMs: 1.55, samples: 60, devices: 2, noisy: false })
  const missing = await api(ctl, 'GET', '/v1/dashboard/luts/rpi4?threads=1')
  t.equal(missing.status, 404)
  t.equal(missing.json.code, 'FLEETNAS_ERR_LUT_NOT_FOUND')
})
