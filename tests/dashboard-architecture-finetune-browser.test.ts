/**
 * Fine-tuning and canceling architecture requests on the dashboard, in a real browser (Debian's
 * headless Chromium through playwright-core) against the architecture test fleet (a controller with
 * a tiny supernet, the test agent, a LUT with a fitted latency model: tests/helpers/arch-fleet.ts):
 *
 * - a request made in the form with fine-tuning shows, once answered, the accuracy after
 *   fine-tuning beside the one with the inherited weights (the API's figures), says the downloads
 *   carry the fine-tuned weights, and the model it hands out is the controller's fine-tuned one;
 * - a long fine-tuning request followed on its page to FINETUNING turns CANCELED when its Cancel
 *   button is clicked, without a reload or another read of the request (the reply and the pushed
 *   event), with a notice of where it stopped; the list says the same;
 * - no page logs a console error. Screenshots go to tmp/screenshots (or FLEETNAS_SCREENSHOTS).
 *
 * Skips, saying so, where no Chromium is installed.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { api } from '../controller/src/testing/harness.ts'
import { findChromium, launchChromium, NO_CHROMIUM, watchConsole } from './helpers/browser.ts'
import { startArchFleet } from './helpers/arch-fleet.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SHOTS = process.env.FLEETNAS_SCREENSHOTS ?? join(ROOT, 'tmp', 'screenshots')
const LONG_FINETUNE = 100_000

const chromiumPath = findChromium()

const pct = (v: number) => `${(v * 100).toFixed(1)}%`

t.test('fine-tuned accuracy and the Cancel button in headless Chromium', { skip: chromiumPath ? false : NO_CHROMIUM, timeout: 180_000 }, async (t) => {
  mkdirSync(SHOTS, { recursive: true })
  const fleet = await startArchFleet(t)
  const ctl = fleet.ctl

  const browser = await launchChromium(chromiumPath!)
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true })
  const page = await context.newPage()
  const watch = watchConsole(page)
  // The Cancel button asks first, as the campaign's does.
  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.accept()
  })
  const shot = (name: string, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage })
  const ready = (what: string, timeout = 20_000) => page.waitForSelector(`[data-ready="${what}"]`, { timeout })
  const stateIs = (...states: string[]) => page.waitForSelector(states.map((s) => `[data-ready="architecture"][data-state="${s}"]`).join(', '), { timeout: 120_000 })

  // ---- a fine-tuned request from the form ----
  await page.goto(`${ctl.httpUrl}/#/architectures/new`)
  await ready('architectures')
  await page.waitForSelector('form.new-request')
  await page.fill('#a-latency', String(fleet.budget))
  await page.fill('input[name=way]', '3')
  await page.fill('input[name=shot]', '1')
  for (const [k, v] of Object.entries({ population: '8', generations: '1', seed: '4', confirm: '1', confirmTasks: '10', finetune: '6' })) await page.fill(`input[name=${k}]`, v)
  await page.uncheck('input[name=verify]')
  await page.click('form.new-request button[type=submit]')
  await ready('architecture')
  const tuned = /#\/architectures\/(a-[0-9a-f]+)/.exec(page.url())?.[1]
  t.ok(tuned, `on the new request's page (${page.url()})`)
  await stateIs('SUCCEEDED', 'FAILED', 'CANCELED')
  const answered = (await api(ctl, 'GET', `/v1/architectures/${tuned}`)).json
  t.equal(answered.state, 'SUCCEEDED', `the request answered${answered.error ? ` (${answered.error.code}: ${answered.error.message})` : ''}`)
  t.same(answered.request.finetune, 6, 'the form sent the fine-tuning iterations')
  const { measured, finetuned } = answered.result.accuracy
  t.ok(finetuned, 'the API has the accuracy after fine-tuning')

  const measuredText = await page.textContent('.measured-accuracy')
  const finetunedText = await page.textContent('.finetuned-accuracy')
  t.match(finetunedText, /% ± .*% \(95% CI, 10 tasks\)/, 'the fine-tuned accuracy with its interval')
  t.ok(finetunedText?.startsWith(pct(finetuned.mean)), `and the API's figure (${pct(finetuned.mean)}: ${finetunedText})`)
  t.ok(measuredText?.startsWith(pct(measured.mean)), `beside the inherited weights' accuracy (${pct(measured.mean)}: ${measuredText})`)
  t.match(await page.textContent('main'), /accuracy \(inherited weights\).*accuracy \(fine-tuned\)/s, 'both rows are labelled by their weights')
  t.match(await page.textContent('.weights-note'), /fine-tuned weights \(6 meta-iterations/, 'the downloads say they carry the fine-tuned weights')
  const requestFacts = await page.locator('table.facts').last().textContent()
  t.match(requestFacts, /fine-tuning6 meta-iterations/, 'the request facts name the fine-tuning')
  t.match(requestFacts, /time.*fine-tuning \d+\.\d s/, 'and the time it took')
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download model.onnx')])
  t.match(download.suggestedFilename(), /-3way-finetuned\.onnx$/, 'model.onnx is named as fine-tuned')
  t.equal(await page.getAttribute('.downloaded', 'data-weights'), 'finetuned', 'and the controller labelled its bytes fine-tuned')
  await shot('architecture-finetuned', true)

  // ---- a long fine-tuning, canceled from its page ----
  const long = (
    await api(ctl, 'POST', '/v1/architectures', {
      hardwareProfile: 'box',
      constraints: { latencyMs: fleet.budget },
      task: { way: 3, shot: 1 },
      search: { population: 8, generations: 1, seed: 4 },
      confirm: 1,
      confirmTasks: 10,
      finetune: LONG_FINETUNE,
    })
  ).json.id as string
  await page.click('text=All requests')
  await ready('architectures')
  await page.click(`tr[data-request="${long}"] a`)
  await stateIs('FINETUNING', 'SUCCEEDED', 'FAILED')
  t.equal(await page.getAttribute('[data-ready="architecture"]', 'data-state'), 'FINETUNING', 'the page follows the request to FINETUNING')
  // With more than one candidate confirmed, each is fine-tuned a quarter of the iterations first.
  await page.waitForSelector('[data-phase="fine-tuning candidates"], [data-phase="fine-tuning"]:has-text("of 100,000")', { timeout: 10_000 })
  t.pass('with its fine-tuning progress counted')

  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true))
  const reads: string[] = []
  page.on('request', (r) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname === `/v1/architectures/${long}`) reads.push(r.url())
  })
  await page.click('button.cancel-request')
  await stateIs('CANCELED')
  t.match(dialogs, [new RegExp(`Cancel architecture request ${long}`)], 'the button asked first')
  t.ok(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), 'the page turned CANCELED without a reload')
  t.same(reads, [], 'and without reading the request again')
  t.match(await page.textContent('.request-canceled'), /Canceled .* while fine-tuning( candidates)?, [\d,]+ of [\d,]+: it has no answer/, 'a notice of where it stopped')
  t.notOk(await page.isVisible('.request-canceled[role=alert]'), 'a notice, not an alarm')
  t.equal(await page.locator('button.cancel-request').count(), 0, 'no Cancel button on an ended request')
  t.equal((await api(ctl, 'GET', `/v1/architectures/${long}`)).json.state, 'CANCELED', 'the API agrees')
  await shot('architecture-canceled', true)

  await page.click('text=All requests')
  await ready('architectures')
  t.match(await page.textContent(`tr[data-request="${long}"]`), /CANCELED.*canceled while fine-tuning/, 'the list shows it canceled')
  t.match(await page.textContent(`tr[data-request="${tuned}"]`), /SUCCEEDED.*fine-tuned/, 'and the other answered, with its fine-tuned accuracy')
  await shot('architectures-canceled')
  t.same(watch.errors, [], 'no console errors on any page')
})
