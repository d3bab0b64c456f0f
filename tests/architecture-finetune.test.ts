/**
 * Fine-tuning and canceling architecture requests on real parts (tiny supernet, test agent, HTTP
 * API, CLI): a request with `finetune` meta-trains its answer alone, reports the accuracy before and
 * after on the same tasks, and serves the fine-tuned weights; a canceled request stops, with the
 * state it was canceled in kept, and leaves the queue working.
 */
import t from 'tap'
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { api } from '../controller/src/testing/harness.ts'
import { decodeCheckpoint, loadCheckpoint } from '../controller/src/nas/maml/checkpoint.ts'
import { loadSupernetCheckpoint, subnetCheckpoint } from '../controller/src/nas/supernet/index.ts'
import { openSupernetSource } from '../controller/src/architectures/supernet-source.ts'
import { runCli } from './helpers/fleet.ts'
import { startArchFleet, waitForRequest } from './helpers/arch-fleet.ts'

const request = (budget: number, extra: Record<string, unknown> = {}) => ({
  hardwareProfile: 'box',
  constraints: { latencyMs: budget },
  task: { way: 3, shot: 1 },
  search: { population: 8, generations: 1, seed: 4 },
  confirm: 1,
  confirmTasks: 10,
  ...extra,
})

t.test('a fine-tuned answer: accuracy before and after, and the model carries the fine-tuned weights', async (t) => {
  const fleet = await startArchFleet(t)
  const ctl = fleet.ctl
  const bad = await api(ctl, 'POST', '/v1/architectures', request(fleet.budget, { finetune: -1 }))
  t.equal(bad.status, 400, 'a negative finetune is refused')

  const id = (await api(ctl, 'POST', '/v1/architectures', request(fleet.budget, { finetune: 6, confirm: 2 }))).json.id
  const done = await waitForRequest(ctl, id)
  t.equal(done.state, 'SUCCEEDED', JSON.stringify(done.error))
  const r = done.result
  t.match(r.finetune, { iterations: 6, file: new RegExp(`^${r.architecture.id.replace(/\./g, '\\.')}\\.supernet-[0-9a-f]{12}\\.i6\\.ckpt$`) })
  t.match(r.accuracy.measured, { tasks: 10 })
  t.match(r.accuracy.finetuned, { tasks: 10 }, 'evaluated after fine-tuning on as many tasks')
  t.ok(r.accuracy.finetuned.mean >= 0 && r.accuracy.finetuned.mean <= 1)
  t.ok(r.timings.finetuneMs > 0)

  const ckpt = await ctl.http.inject({ method: 'GET', url: `/v1/architectures/${id}/checkpoint` })
  t.equal(ckpt.statusCode, 200)
  t.equal(ckpt.headers['x-fleetnas-weights'], 'finetuned')
  t.match(ckpt.headers['content-disposition'], /-finetuned\.ckpt/)
  const tuned = decodeCheckpoint(new Uint8Array(ckpt.rawPayload))
  t.equal(tuned.architectureId, r.architecture.id)
  t.equal(tuned.iteration, 6, 'six meta-iterations of the sub-network alone')
  t.equal(tuned.config.way, 3)
  const inherited = subnetCheckpoint(await loadSupernetCheckpoint(fleet.supernet), r.architecture.id, { way: 3 })
  t.equal(tuned.params.length, inherited.params.length)
  t.ok(tuned.params.some((v, i) => v !== inherited.params[i]), 'the weights moved from the inherited ones')

  const onnx = await ctl.http.inject({ method: 'GET', url: `/v1/architectures/${id}/model.onnx` })
  t.equal(onnx.statusCode, 200)
  const session = await ort.InferenceSession.create(new Uint8Array(onnx.rawPayload))
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(28 * 28), [1, 1, 28, 28]) })
  t.same(out[session.outputNames[0]].dims, [1, 3], 'ONNX Runtime runs the fine-tuned model')

  const show = await runCli(['arch', 'show', id], { FLEETNAS_API: ctl.httpUrl })
  t.equal(show.code, 0, show.stderr)
  t.match(show.stdout, /fine-tuned {4}\d+\.\d+% ± .* after 6 iterations/)

  // A later request that picks this architecture finds its weights there: fine-tuning again writes nothing.
  const weightsFile = join(fleet.config.dataDir, 'architectures', r.finetune.file)
  const written = (await stat(weightsFile)).mtimeMs
  const source = await openSupernetSource(fleet.supernet)
  t.same(await source.finetune(r.architecture.id, { iterations: 6, path: weightsFile }), { iterations: 6, trainMs: 0 })
  t.equal((await stat(weightsFile)).mtimeMs, written, 'without training again')
  t.same(await source.evaluate(r.architecture.id, { way: 3, shot: 1, tasks: 10 }, weightsFile), r.accuracy.finetuned, 'the same weights, the same tasks, the same accuracy')

  // The race: every confirmed candidate fine-tuned a quarter of the iterations, the best went on from
  // there, and ended where six iterations straight from the inherited weights end.
  type Confirmed = { id: string; raced?: { mean: number; tasks: number } }
  const confirmed: Confirmed[] = r.confirmed
  t.ok(confirmed.length > 1, `${confirmed.length} candidates confirmed`)
  t.same(r.finetune.race, { iterations: 2, candidates: confirmed.length })
  t.ok(confirmed.every((c, i) => c.raced?.tasks === 10 && (i === 0 || c.raced.mean <= confirmed[i - 1].raced!.mean)), 'each evaluated after the race, best first')
  t.equal(confirmed[0].id, r.architecture.id, 'the race winner is the answer')
  const straight = join(fleet.dir, 'straight.ckpt')
  await source.finetune(r.architecture.id, { iterations: 6, path: straight })
  const straightParams = (await loadCheckpoint(straight)).params
  t.ok(straightParams.every((v, i) => v === tuned.params[i]), 'race then continuation = six iterations straight')

  // Weights gone from the data directory: a clear error, never the inherited weights in their place.
  await rm(weightsFile)
  const gone = await api(ctl, 'GET', `/v1/architectures/${id}/model.onnx`)
  t.equal(gone.status, 410)
  t.equal(gone.json.code, 'FLEETNAS_ERR_ARCH_ARTIFACT_MISSING')
})

t.test('canceling: a running request stops, a queued one never runs, the queue goes on', async (t) => {
  const fleet = await startArchFleet(t)
  const ctl = fleet.ctl
  const long = (await api(ctl, 'POST', '/v1/architectures', request(fleet.budget, { finetune: 100_000 }))).json.id
  const queued = (await api(ctl, 'POST', '/v1/architectures', request(fleet.budget))).json.id
  await waitForRequest(ctl, long, (r) => r.state === 'FINETUNING')

  const cancelQueued = await runCli(['arch', 'cancel', queued], { FLEETNAS_API: ctl.httpUrl })
  t.equal(cancelQueued.code, 0, cancelQueued.stderr)
  t.match(cancelQueued.stdout, new RegExp(`${queued} canceled`))
  const canceled = await api(ctl, 'POST', `/v1/architectures/${long}/cancel`)
  t.equal(canceled.status, 200)
  t.equal(canceled.json.state, 'CANCELED')

  const after = await api(ctl, 'POST', '/v1/architectures', request(fleet.budget))
  const next = await waitForRequest(ctl, after.json.id)
  t.equal(next.state, 'SUCCEEDED', 'the next request runs: the canceled one let go of the queue')
  const longNow = (await api(ctl, 'GET', `/v1/architectures/${long}`)).json
  t.equal(longNow.state, 'CANCELED', 'the running request stayed canceled')
  t.equal(longNow.error.code, 'FLEETNAS_ERR_ARCH_REQUEST_CANCELED')
  t.ok(longNow.progress.done < 100_000, `it stopped fine-tuning (at ${longNow.progress.done})`)
  const queuedNow = (await api(ctl, 'GET', `/v1/architectures/${queued}`)).json
  t.equal(queuedNow.state, 'CANCELED')
  t.equal(queuedNow.result, null, 'the queued request never ran')

  const again = await api(ctl, 'POST', `/v1/architectures/${long}/cancel`)
  t.equal(again.status, 409)
  t.equal(again.json.code, 'FLEETNAS_ERR_ARCH_REQUEST_FINISHED')
  t.equal((await api(ctl, 'POST', '/v1/architectures/a-nope/cancel')).status, 404)

  const restarted = await fleet.restart()
  t.equal((await api(restarted, 'GET', `/v1/architectures/${long}`)).json.state, 'CANCELED', 'a restart does not pick a canceled request up again')
})
