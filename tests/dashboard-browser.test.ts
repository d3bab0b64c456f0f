/**
 * The dashboard in a real browser (Debian's headless Chromium through playwright-core) against a
 * real controller (token auth, embedded broker, SQLite) and a real agent process measuring with
 * ONNX Runtime: a wrong token is refused with a clear error; the right one logs in; the device
 * comes online on the page; a campaign created in the form reaches 100% on the page without a
 * reload or a polling request; the LUT heatmaps (one, then two side by side with their ratio)
 * draw; a one-time login link works once; a request made in the architectures form shows the
 * controller's answer that it has no supernet. No page logs a console error (but for that 409
 * answer). A screenshot of every page goes to tmp/screenshots (or FLEETNAS_SCREENSHOTS); the
 * architecture pages with an answer are in dashboard-architectures-browser.test.ts.
 *
 * Skips, saying so, where no Chromium is installed.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Page } from 'playwright-core'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import { DASHBOARD_DIST } from '../controller/src/dashboard/plugin.ts'
import { findChromium, launchChromium, NO_CHROMIUM, watchConsole } from './helpers/browser.ts'
import { spawnAgent, tempDir, until } from './helpers/fleet.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SHOTS = process.env.FLEETNAS_SCREENSHOTS ?? join(ROOT, 'tmp', 'screenshots')
const TOKEN = 'browser-test-token-0123'
const DEVICE = 'browser-1'
const BLOCKS = 12

const chromiumPath = findChromium()

t.test('dashboard in headless Chromium against a real controller and agent', { skip: chromiumPath ? false : NO_CHROMIUM, timeout: 600_000 }, async (t) => {
  t.ok(existsSync(join(DASHBOARD_DIST, 'index.html')), `the dashboard is built (${DASHBOARD_DIST}); npm run build makes it`)
  mkdirSync(SHOTS, { recursive: true })
  const dir = await tempDir()
  t.teardown(dir.remove)
  const controller = await startController({ dataDir: dir.path, httpPort: 0, mqttPort: 0, apiToken: TOKEN, logLevel: 'warn' }, { env: {} })
  t.teardown(() => controller.stop())
  const api = new ApiClient({ api: controller.httpUrl, token: TOKEN })
  const url = controller.httpUrl

  const browser = await launchChromium(chromiumPath!)
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  const watch = watchConsole(page)
  const shot = (name: string, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage })
  const ready = (what: string, timeout = 20_000) => page.waitForSelector(`[data-ready="${what}"]`, { timeout })

  // ---- without a token: the open overview and the login form ----
  await page.goto(`${url}/`)
  await ready('fleet')
  t.ok(await page.isVisible('input[name=token]'), 'a login form')
  t.match(await page.textContent('main'), /devices known/, 'the open overview from /metrics')
  await shot('login')

  // ---- a wrong token is refused with a clear error ----
  await page.fill('input[name=token]', 'not-the-token-999')
  await page.click('form.login button[type=submit]')
  const refused = await page.waitForSelector('.login-error', { timeout: 10_000 })
  t.match(await refused.textContent(), /refused this token.*FLEETNAS_ERR_AUTH_REQUIRED/s, 'wrong token: a clear error with its code')
  t.equal(await page.evaluate(() => localStorage.getItem('fleetnas.token')), null, 'a refused token is not kept')
  await shot('wrong-token')

  // ---- the right token; then the device comes online while the page is open ----
  await page.fill('input[name=token]', TOKEN)
  await page.click('form.login button[type=submit]')
  await page.waitForSelector('header .auth >> text=logged in')
  t.equal(await page.evaluate(() => localStorage.getItem('fleetnas.token')), TOKEN, 'the token is kept in the browser')
  await page.waitForSelector('.live-live', { timeout: 10_000 })
  await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true))

  const { secret } = await api.post<{ secret: string }>(`/v1/devices/${DEVICE}/credentials`)
  const agent = spawnAgent(
    ['--broker', controller.mqttUrl, '--state-dir', join(dir.path, 'agent'), '--device-id', DEVICE, '--username', DEVICE, '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'warn'],
    { FLEETNAS_PASSWORD: secret },
  )
  t.teardown(() => agent.stop())
  await page.waitForSelector(`tr[data-device="${DEVICE}"] .status-online`, { timeout: 60_000 }).catch((e) => {
    throw new Error(`${(e as Error).message}\nagent output:\n${agent.output()}`)
  })
  t.pass('the device shows online, pushed to the open page')
  await until('the device inventory on the page', async () => (await page.textContent(`tr[data-device="${DEVICE}"]`))?.includes('onnxruntime') || undefined, 30_000)
  await shot('fleet')

  await page.click(`a[href="#/devices/${DEVICE}"]`)
  await ready('device')
  t.match(await page.textContent('main'), /Inventory[\s\S]*cores/, 'device page with its inventory')
  await shot('device')

  // ---- a campaign from the form, watched to 100% without reload or polling ----
  await page.click('header nav >> text=Campaigns')
  await ready('campaigns')
  await page.click('text=New campaign')
  await page.waitForSelector('form.new-campaign')
  await page.fill('#c-name', 'browser-e2e')
  await page.fill('#c-sample', String(BLOCKS))
  await page.selectOption('#c-devices', DEVICE)
  await page.fill('#c-threads', '1, 2')
  for (const [k, v] of Object.entries({ warmupRuns: '2', minRuns: '6', minTimeMs: '5', maxCv: '0.5' })) await page.fill(`input[name=${k}]`, v)
  await shot('campaign-new')
  const campaignReads: string[] = []
  page.on('request', (r) => {
    if (r.method() === 'GET' && /\/v1\/campaigns(\/|$|\?)/.test(new URL(r.url()).pathname)) campaignReads.push(new URL(r.url()).pathname)
  })
  await page.click('form.new-campaign button[type=submit]')
  await ready('campaign')
  const id = /#\/campaigns\/(c-[0-9a-f]+)/.exec(page.url())?.[1]
  t.ok(id, `on the new campaign's page (${page.url()})`)
  const seen = new Set<number>()
  await until(
    'the campaign page to show 100%',
    async () => {
      const p = Number(await page.getAttribute('.campaign-percent', 'data-percent'))
      seen.add(p)
      return p === 100 || undefined
    },
    300_000,
    100,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\nagent output:\n${agent.output()}`)
  })
  await page.waitForSelector('h1 .state-succeeded', { timeout: 30_000 })
  t.ok(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce), 'no reload on the way')
  t.same(campaignReads, [`/v1/campaigns/${id}`], 'the page read the campaign once; progress came by server-sent events')
  t.ok(seen.size >= 2, `progress seen moving on the page (${[...seen].sort((a, b) => a - b).join(', ')}%)`)
  const c = await api.get<{ state: string; progress: { total: number; succeeded: number } }>(`/v1/campaigns/${id}`)
  t.same([c.state, c.progress], ['SUCCEEDED', { total: 2 * BLOCKS, succeeded: 2 * BLOCKS, failed: 0 }], 'the API agrees')
  await shot('campaign')
  await page.click('header nav >> text=Campaigns')
  await ready('campaigns')
  await shot('campaigns')

  // ---- LUT heatmap, then two LUTs side by side with their ratio ----
  await page.click('header nav >> text=LUTs')
  await ready('luts')
  await page.click('table.luts tbody tr:first-child a')
  await ready('heatmap')
  t.ok((await page.$$('.heatmap-a svg rect')).length >= 1, 'heatmap cells drawn')
  await shot('lut', true)
  await page.click('.heatmap-a svg g[aria-label="cell"] rect')
  await page.waitForSelector('.cell-entries td.mono')
  t.pass('a click on a cell lists its entries')
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download CSV')])
  t.match(download.suggestedFilename(), /^lut-x86-64-onnxruntime-t1\.csv$/, 'CSV download')
  await page.selectOption('select[name=vs]', 'x86-64/onnxruntime/2')
  await ready('ratio')
  await ready('heatmap-b')
  await shot('lut-compare', true)

  // ---- latency model (nothing measured whole yet) and architectures (none requested) ----
  await page.click('header nav >> text=Latency model')
  await ready('model')
  t.match(await page.textContent('main'), /No model is fitted yet/, 'latency model page says no model is fitted')
  await shot('model-unfitted')
  await page.click('header nav >> text=Architectures')
  await ready('architectures')
  t.match(await page.textContent('main'), /No architecture request yet/, 'architectures page: no request yet')

  // ---- a one-time login link, in a fresh browser context ----
  const link = await api.post<{ path: string }>('/v1/dashboard/login-links')
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const other = await fresh.newPage()
  watchConsole(other, watch)
  await other.goto(`${url}${link.path}`)
  await other.waitForSelector(`[data-ready="fleet"] tr[data-device="${DEVICE}"]`, { timeout: 20_000 })
  t.equal(await other.evaluate(() => localStorage.getItem('fleetnas.token')), TOKEN, 'the link logged the browser in')
  t.notMatch(other.url(), /code=/, 'the code left the address bar')
  await fresh.close()
  t.same(watch.errors, [], 'no console errors on any page')

  // ---- this controller has no supernet: a request is refused, and the form says why ----
  const seenBefore = watch.errors.length
  await page.click('header nav >> text=Architectures')
  await ready('architectures')
  await page.click('text=New request')
  await page.waitForSelector('form.new-request')
  t.equal(await page.inputValue('#a-profile'), 'x86-64', 'the hardware profile comes from the LUT list')
  await page.fill('#a-latency', '1')
  await page.click('form.new-request button[type=submit]')
  const refusal = await page.waitForSelector('.request-error', { timeout: 10_000 })
  t.match(await refusal.textContent(), /FLEETNAS_ERR_ARCH_NO_SUPERNET.*--supernet/s, 'the 409 answer with its code and what to do')
  await shot('architecture-no-supernet')
  // The refusal is a 409 answer, which Chromium itself logs as a failed load: that line only.
  const refusalErrors = watch.errors.slice(seenBefore)
  t.ok(
    refusalErrors.length <= 1 && refusalErrors.every((e) => /Failed to load resource: .* 409 .*\/v1\/architectures\)$/.test(e)),
    `the refusal logs nothing but the refused request (${refusalErrors.join('; ')})`,
  )

  // The refused code is a 401 answer, which Chromium itself logs as a failed load: that line only.
  const reuse = await browser.newContext()
  const third = await reuse.newPage()
  const reuseWatch = watchConsole(third)
  await third.goto(`${url}${link.path}`)
  const used = await third.waitForSelector('.login-error', { timeout: 10_000 })
  t.match(await used.textContent(), /used already or has expired/, 'the same link does not work twice')
  await reuse.close()
  t.ok(
    reuseWatch.errors.every((e) => /Failed to load resource: .* 401 .*\/dashboard\/login\)$/.test(e)),
    `a used link logs nothing but the refused request (${reuseWatch.errors.join('; ')})`,
  )
})
