/**
 * The latency model as a user meets it, on real parts: a controller (embedded broker, SQLite), one
 * agent process measuring with ONNX Runtime, and the `fleetnas` binary. A calibration campaign
 * measures a seeded set of architectures whole with their blocks; the LUT's model is fitted and
 * reports held-out figures; a prediction for an architecture whose blocks are not profiled names
 * them and fails; after profiling it, the prediction comes with an interval and its own
 * measurement. Real timings: only what noise cannot change is asserted.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { architectureBlocks, architectureId, blockKey, calibrationArchitectures, CONV4 } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import Database from 'better-sqlite3'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import { runCli, spawnAgent, tempDir, waitOnline } from './helpers/fleet.ts'

const FAST = ['--warmup-runs', '2', '--min-runs', '6', '--min-time-ms', '5', '--max-cv', '0.5']
const CALIBRATION = 14

t.test('calibrate, fit, predict, refuse to guess, profile, predict again', async (t) => {
  const dir = await tempDir()
  t.teardown(dir.remove)
  const controller = await startController({ dataDir: dir.path, httpPort: 0, mqttPort: 0, insecure: true, logLevel: 'warn' })
  t.teardown(() => controller.stop())
  const api = new ApiClient({ api: controller.httpUrl })
  const agent = spawnAgent(['--broker', controller.mqttUrl, '--state-dir', `${dir.path}/agent`, '--device-id', 'lat-1', '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'warn'])
  t.teardown(() => agent.stop())
  await waitOnline(api, ['lat-1'])
  const env = { FLEETNAS_API: controller.httpUrl }

  const calib = await runCli(['campaign', 'create', '--name', 'calib', '--calibration', String(CALIBRATION), '--calibration-seed', '5', '--device', 'lat-1', ...FAST, '--watch'], env)
  t.equal(calib.code, 0, calib.code === 0 ? 'calibration campaign succeeds' : `${calib.stderr}${agent.output()}`)
  t.match(calib.stdout, new RegExp(`and ${CALIBRATION} architectures per execution`))

  const model = await runCli(['latency', 'model', '--profile', 'x86-64', '--json'], env)
  t.equal(model.code, 0, model.stderr)
  const m = JSON.parse(model.stdout)
  t.match(m, { hardwareProfile: 'x86-64', runtime: 'onnxruntime', threads: 1, model: { kind: 'fitted', n: CALIBRATION } })
  t.equal(m.model.points.length, CALIBRATION, 'a held-out prediction per calibration architecture')
  for (const p of m.model.points) t.ok(p.measuredMs > 0 && p.predictedMs > 0, `${p.id}: positive measured and predicted latency`)
  const r = m.model.report.heldOut
  t.ok(r.within5 >= 0 && r.within5 <= r.within10 && r.within10 <= 1, 'shares within 5% <= within 10%')
  t.ok(r.kendallTau >= -1 && r.kendallTau <= 1)
  const text = await runCli(['latency', 'model', '--profile', 'x86-64'], env)
  t.match(text.stdout, /fitted on 14 architectures measured whole/)
  t.match(text.stdout, /bare block sum: /)

  // Conv4 is not in the calibration set; its blocks are (mostly) not profiled.
  const conv4 = architectureId(CONV4)
  const known = new Set(calibrationArchitectures(CALIBRATION, 5).flatMap((a) => architectureBlocks(a).map(blockKey)))
  const lacking = architectureBlocks(CONV4).map(blockKey).filter((k) => !known.has(k))
  t.ok(lacking.length > 0, 'Conv4 needs blocks the calibration did not profile')
  const refused = await runCli(['latency', 'predict', conv4, '--profile', 'x86-64'], env)
  t.equal(refused.code, 1, 'no prediction without the blocks: exit 1')
  t.match(refused.stdout, /missing blocks/)
  for (const k of lacking) t.ok(refused.stdout.includes(k), `names ${k}`)

  const file = `${dir.path}/archs.txt`
  writeFileSync(file, `# the manual baseline\n${conv4}\n`)
  // Two passes: each target timed in two windows, its measurement pooling both passes' 3 rounds.
  const profile = await runCli(['campaign', 'create', '--name', 'conv4', '--architectures', file, '--device', 'lat-1', ...FAST, '--passes', '2', '--watch'], env)
  t.equal(profile.code, 0, profile.code === 0 ? 'Conv4 profiled' : profile.stderr)
  const db = new Database(controller.store.file, { readonly: true })
  const rounds = db.prepare<[], { kind: string; rounds: number }>(`SELECT DISTINCT m.kind, m.rounds FROM measurements m JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = 'conv4' AND m.kind IN ('block', 'architecture')`).all()
  db.close()
  t.same(rounds.map((r) => r.rounds), rounds.map(() => 6), `--passes 2 reached the agent: blocks and Conv4 measured in ${rounds.map((r) => `${r.kind} ${r.rounds}`).join(', ')} rounds`)
  t.ok(rounds.length === 2, 'both kinds measured')
  const predicted = await runCli(['latency', 'predict', conv4, '--profile', 'x86-64', '--json'], env)
  t.equal(predicted.code, 0, predicted.stderr)
  const [p] = JSON.parse(predicted.stdout)
  t.match(p, { id: conv4, model: 'fitted', missing: [] })
  t.ok(p.predictedMs > 0 && p.lowMs <= p.predictedMs && p.predictedMs <= p.highMs, `predicted ${p.predictedMs} ms within [${p.lowMs}, ${p.highMs}]`)
  t.ok(p.measuredMs > 0, 'Conv4 was measured whole too, shown beside the prediction')

  const lut = await runCli(['lut', 'show', 'x86-64', '--limit', '5'], env)
  t.equal(lut.code, 0, lut.stderr)
  t.match(lut.stdout, /uncertainty of a stored median \(95% interval, half-width\): median ±/)
  t.notMatch(lut.stdout, /(^|\s)0\.000(\s|$)/m, 'no latency printed as 0.000 ms')
})
