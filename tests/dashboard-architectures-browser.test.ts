/**
 * The dashboard's architecture pages, latency model scatter and fleet sensors in a real browser
 * (Debian's headless Chromium through playwright-core) against a real controller with a tiny
 * supernet (meta-trained for a few iterations on the built-in glyphs, as in
 * architecture-request.test.ts) and the test agent, which answers jobs in seconds with the
 * sensor readings a Raspberry Pi would send:
 *
 * - the fleet page shows the temperature and throttling of the device's latest measurement;
 * - a calibration campaign (14 architectures measured whole, and Conv4) fits the LUT's latency
 *   model, and the model page draws its held-out points;
 * - a request made in the form is followed to SUCCEEDED by server-sent events alone (one read of
 *   the request), its page shows the answer, the Pareto front with Conv4 marked at its predicted
 *   latency, and hands out model.onnx and the checkpoint;
 * - no page logs a console error. Screenshots go to tmp/screenshots (or FLEETNAS_SCREENSHOTS).
 *
 * Skips, saying so, where no Chromium is installed.
 */
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { architectureBlocks, architectureId, CONV4, isHead, parseArchitectureId } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import { silentLogger } from '../controller/src/testing/harness.ts'
import { startFakeAgent } from '../controller/src/testing/fake-agent.ts'
import { syntheticDevice } from '../controller/src/testing/synthetic-device.ts'
import { tinySupernet } from './helpers/supernet.ts'
import { findChromium, launchChromium, NO_CHROMIUM, watchConsole } from './helpers/browser.ts'
import { tempDir, until } from './helpers/fleet.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SHOTS = process.env.FLEETNAS_SCREENSHOTS ?? join(ROOT, 'tmp', 'screenshots')
const TOKEN = 'browser-arch-token-0123'
const DEVICE = 'pi-1'
const PROFILE = 'rpi4'

// The test agent's device: a deterministic latency per block, an architecture a little faster
// than the sum of its blocks (what the latency model learns), warm and throttled after each run.
const device = syntheticDevice({ callMs: 0.005, minBlockMs: 0.005, stepMs: 1 / 20000, inGraph: (b) => (isHead(b) ? 1 : 0.9) })
const CALL_MS = device.callMs
const latencyMs = device.latencyMs
const ENVIRONMENT = { before: { temperatureC: 64.2, frequencyMHz: 1800, throttled: false }, after: { temperatureC: 81.4, frequencyMHz: 1500, throttled: true } }

const chromiumPath = findChromium()

t.test('architecture requests, the latency model and fleet sensors in headless Chromium', { skip: chromiumPath ? false : NO_CHROMIUM, timeout: 600_000 }, async (t) => {
  mkdirSync(SHOTS, { recursive: true })
  const dir = await tempDir()
  t.teardown(dir.remove)
  const supernet = join(dir.path, 'supernet.ckpt')
  await tinySupernet(supernet)
  const controller = await startController(
    {
      dataDir: join(dir.path, 'data'),
      httpPort: 0,
      mqttPort: 0,
      apiToken: TOKEN,
      supernet,
      accuracyEstimation: { predictorSamples: 10, predictorTasks: 2 },
    },
    { env: {}, logger: silentLogger() },
  )
  t.teardown(() => controller.stop())
  const api = new ApiClient({ api: controller.httpUrl, token: TOKEN })
  const { secret } = await api.post<{ secret: string }>(`/v1/devices/${DEVICE}/credentials`)
  const agent = await startFakeAgent({
    url: controller.mqttUrl,
    deviceId: DEVICE,
    username: DEVICE,
    password: secret,
    hardwareProfile: PROFILE,
    latencyMs,
    overheadMs: CALL_MS,
    batchSize: 100,
    environment: () => ENVIRONMENT,
  })
  t.teardown(() => agent.stop())
  await until('the device registered', () => controller.store.devices.get(DEVICE)?.hardwareProfile)

  // Calibration: 14 architectures measured whole fit the model; Conv4 measured too, so the LUT predicts it.
  const conv4 = architectureId(CONV4)
  const calib = await api.post<{ id: string }>('/v1/campaigns', { name: 'calibration', calibration: { count: 14 }, architectures: [conv4], targets: { devices: [DEVICE] } })
  await until('the calibration campaign', async () => (await api.get<{ state: string }>(`/v1/campaigns/${calib.id}`)).state === 'SUCCEEDED' || undefined, 120_000)
  const fitted = await api.get<{ model: { kind: string; points: { measuredMs: number }[] } }>(`/v1/luts/${PROFILE}/model`)
  t.equal(fitted.model.kind, 'fitted', 'the LUT has a fitted latency model')
  t.ok(fitted.model.points.length >= 14, `with its held-out points (${fitted.model.points.length})`)
  const budget = [...fitted.model.points.map((p) => p.measuredMs)].sort((a, b) => a - b)[7]

  const browser = await launchChromium(chromiumPath!)
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true })
  const page = await context.newPage()
  const watch = watchConsole(page)
  const shot = (name: string, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage })
  const ready = (what: string, timeout = 20_000) => page.waitForSelector(`[data-ready="${what}"]`, { timeout })
  const link = await api.post<{ path: string }>('/v1/dashboard/login-links')
  await page.goto(`${controller.httpUrl}${link.path}`)

  // ---- fleet: temperature and throttling of the latest measurement ----
  const row = await page.waitForSelector(`[data-ready="fleet"] tr[data-device="${DEVICE}"]`, { timeout: 20_000 })
  t.equal((await (await row.$('td.temperature'))!.textContent())?.trim(), '81 °C', 'the temperature after the latest measurement')
  t.equal((await (await row.$('td.throttled'))!.textContent())?.trim(), 'throttled', 'and that the device was throttled')
  await shot('fleet-sensors')
  await page.click(`a[href="#/devices/${DEVICE}"]`)
  await ready('device')
  t.match(await page.textContent('main'), /latest measurement81\.4 °C, 1500 MHz, throttled/, 'the device page says the same')

  // ---- latency model: the held-out points of the fitted model ----
  await page.click('header nav >> text=Latency model')
  await ready('scatter')
  const dots = await page.$$('[data-ready="scatter"] svg g[aria-label="dot"] circle')
  t.equal(dots.length, fitted.model.points.length, 'one dot per held-out architecture')
  t.match(await page.textContent('main'), /Held-out agreement \(5-fold\)/, 'beside the fit report')
  await shot('model', true)

  // ---- a request from the form, followed live to SUCCEEDED ----
  await page.click('header nav >> text=Architectures')
  await ready('architectures')
  t.match(await page.textContent('main'), /No architecture request yet/, 'no request yet')
  await page.click('text=New request')
  await page.waitForSelector('form.new-request')
  t.equal(await page.inputValue('#a-profile'), PROFILE, 'the hardware profile comes from the LUT list')
  await page.waitForSelector('.conv4-hint:has-text("Conv4 on this LUT")')
  await page.fill('#a-latency', String(Number(budget.toPrecision(3))))
  await page.fill('input[name=way]', '3')
  await page.fill('input[name=shot]', '1')
  for (const [k, v] of Object.entries({ population: '8', generations: '2', seed: '4', confirm: '2', confirmTasks: '10' })) await page.fill(`input[name=${k}]`, v)
  t.ok(await page.isChecked('input[name=verify]'), 'verify is on by default')
  await shot('architecture-new')
  const requestReads: string[] = []
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname
    if (r.method() === 'GET' && /^\/v1\/architectures\/[^/]+$/.test(path)) requestReads.push(path)
  })
  await page.click('form.new-request button[type=submit]')
  await ready('architecture')
  const id = /#\/architectures\/(a-[0-9a-f]+)/.exec(page.url())?.[1]
  t.ok(id, `on the new request's page (${page.url()})`)
  const phases = new Set<string>()
  await until(
    'the request page to show SUCCEEDED',
    async () => {
      const phase = await page.getAttribute('[data-phase]', 'data-phase', { timeout: 50 }).catch(() => null)
      if (phase) phases.add(phase)
      const state = await page.getAttribute('[data-ready="architecture"]', 'data-state')
      if (state === 'FAILED') throw new Error(`the request failed: ${await page.textContent('main')}`)
      return state === 'SUCCEEDED' || undefined
    },
    240_000,
    100,
  )
  t.same(requestReads, [`/v1/architectures/${id}`], 'the page read the request once; its progress came by server-sent events')
  t.ok(phases.size >= 2, `phases seen on the page: ${[...phases].join(', ')}`)

  const r = await api.get<{
    state: string
    result: { architecture: { id: string }; latency: { predictedMs: number; measuredMs: number | null }; accuracy: { measured: { tasks: number } } }
  }>(`/v1/architectures/${id}`)
  t.equal(r.state, 'SUCCEEDED', 'the API agrees')
  await ready('pareto')
  t.equal(await page.textContent('.architecture-id'), r.result.architecture.id, 'the answer: architecture id')
  t.equal(await page.locator('.card.blocks li').count(), architectureBlocks(parseArchitectureId(r.result.architecture.id)).length, 'and its blocks')
  t.equal(await page.locator('.card.confirmed tr.chosen td.mono').textContent(), r.result.architecture.id, 'the candidates confirmed for real, the answer among them')
  t.match(await page.textContent('.measured-latency'), /ms/, 'the latency measured whole (verify)')
  t.match(await page.textContent('.latency-bound'), /ms .*90% of the calibration networks/, 'the bound the search held within the budget')
  t.match(await page.textContent('.measured-accuracy'), /% ± .*% \(95% CI, 10 tasks\)/, 'the accuracy with its interval')
  t.equal(await page.getAttribute('.conv4-note', 'data-conv4'), 'marked', 'Conv4 marked on the front at its predicted latency')
  t.ok(await page.isVisible('[data-ready="pareto"] svg text:has-text("Conv4")'), 'its label is drawn')

  for (const [button, suffix, path] of [
    ['Download model.onnx', /-3way\.onnx$/, 'model.onnx'],
    ['Download checkpoint', /-3way\.ckpt$/, 'checkpoint'],
  ] as const) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`text=${button}`)])
    t.match(download.suggestedFilename(), suffix, `${path}: a named file`)
    const file = join(dir.path, download.suggestedFilename())
    await download.saveAs(file)
    const res = await fetch(`${controller.httpUrl}/v1/architectures/${id}/${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    t.equal(statSync(file).size, (await res.arrayBuffer()).byteLength, `${path}: the controller's bytes`)
  }
  await shot('architecture', true)

  await page.click('text=All requests')
  await ready('architectures')
  t.match(await page.textContent(`tr[data-request="${id}"]`), /SUCCEEDED/, 'the list shows the request answered')
  await shot('architectures')
  t.same(watch.errors, [], 'no console errors on any page')
})
