// First-order MAML on the real engine with a tiny synthetic task family: training improves few-shot
// accuracy, checkpoints round-trip and resume bit-exactly, adaptation APIs agree, errors have codes.
import t from 'tap'
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng, isFleetnasError, type Architecture } from '@fleetnas/shared'
import { TrainingEngine, createNetwork } from '../engine/engine.ts'
import { paramView } from '../engine/param-layout.ts'
import { adapt, adaptAndPredict, loadCheckpoint, metaEvaluate, metaTrain, predict, saveCheckpoint, type MetaTrainProgress } from './index.ts'
import { arch, base, sampler, space, syntheticSampler } from './test-tasks.ts'

t.test('meta-training raises few-shot accuracy and reports progress', async (t) => {
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const untrained = await metaTrain({ ...base, iterations: 0, engine })
  const before = await metaEvaluate(untrained, sampler, { tasks: 100, engine })
  const progress: MetaTrainProgress[] = []
  const ck = await metaTrain({ ...base, iterations: 200, metaBatch: 4, engine, onProgress: (p) => progress.push(p) })
  t.equal(progress.length, 200)
  t.same(
    progress.map((p) => p.iteration),
    Array.from({ length: 200 }, (_, i) => i + 1),
  )
  t.ok(progress.every((p) => p.accuracy >= 0 && p.accuracy <= 1 && Number.isFinite(p.loss) && p.tasksPerSecond > 0))
  const after = await metaEvaluate(ck, sampler, { tasks: 100, engine })
  t.ok(after.ci95 > 0 && after.ci95 < 0.2, `ci95 ${after.ci95}`)
  t.equal(after.tasks, 100)
  t.ok(after.accuracy > before.accuracy + 0.15, `accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)}`)
})

t.test('checkpoints save atomically, load exactly, and resume bit-exactly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-maml-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const straight = await metaTrain({ ...base, iterations: 6, engine })
  const path = join(dir, 'run', 'ck.bin')
  const half = await metaTrain({ ...base, iterations: 3, engine, checkpoint: { path, every: 1 } })
  t.same(await readdir(join(dir, 'run')), ['ck.bin'], 'no temporary files are left behind')
  const loaded = await loadCheckpoint(path)
  t.equal(loaded.iteration, 3)
  t.same(loaded.params, half.params)
  t.same(loaded.adam.m, half.adam.m)
  t.equal(loaded.adam.t, 3)
  t.same(loaded.config, half.config)
  t.equal(loaded.architectureId, createNetwork(arch, space).id)
  const resumed = await metaTrain({ ...base, iterations: 6, engine, resumeFrom: path })
  t.equal(resumed.iteration, 6)
  t.same(resumed.params, straight.params, 'resumed run equals the uninterrupted one')

  const bad = join(dir, 'bad.bin')
  await writeFile(bad, 'not a checkpoint')
  await t.rejects(loadCheckpoint(bad), { code: 'FLEETNAS_ERR_MAML_CHECKPOINT_INVALID' })
  await t.rejects(loadCheckpoint(join(dir, 'missing.bin')), { code: 'FLEETNAS_ERR_MAML_CHECKPOINT_INVALID' })
  await saveCheckpoint(join(dir, 'trunc.bin'), loaded)
  const other: Architecture = { g: 0.5, blocks: [{ op: 'conv', kernel: 5, width: 16, down: 'maxpool' }, arch.blocks[1]] }
  await t.rejects(metaTrain({ ...base, arch: other, iterations: 4, engine, resumeFrom: loaded }), { code: 'FLEETNAS_ERR_MAML_CHECKPOINT_MISMATCH' })
})

t.test('adaptAndPredict agrees with adapt then predict', async (t) => {
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const ck = await metaTrain({ ...base, iterations: 5, engine })
  const task = sampler.sample(createRng(77))
  const fused = await adaptAndPredict(ck, task.support, task.queryset.x, { steps: 3, lr: 0.4, engine })
  const net = createNetwork(ck.arch, ck.space)
  const adapted = await adapt(engine, net, ck.params, task.support, { steps: 3, lr: 0.4 })
  const stepwise = await predict(engine, net, adapted, task.queryset.x)
  t.same(fused.labels, stepwise.labels)
  t.ok(fused.probabilities.every((p, i) => Math.abs(p - stepwise.probabilities[i]) < 1e-4))
  for (let i = 0; i < fused.labels.length; i++) {
    const row = fused.probabilities.subarray(i * 3, i * 3 + 3)
    t.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-5)
  }
  t.not(adapted[0], ck.params[0], 'adapt returns new params and leaves the checkpoint alone')
})

t.test('options are validated together; tasks must fit the network', async (t) => {
  try {
    await metaTrain({ ...base, iterations: -1, innerSteps: 1.5, outerLr: 0 })
    t.fail('must throw')
  } catch (e) {
    t.ok(isFleetnasError(e, 'FLEETNAS_ERR_MAML_CONFIG'))
    const m = (e as Error).message
    t.match(m, /iterations/)
    t.match(m, /innerSteps/)
    t.match(m, /outerLr/)
  }
  await t.rejects(metaTrain({ ...base, sampler: syntheticSampler(4, 1, 5), iterations: 1 }), { code: 'FLEETNAS_ERR_MAML_TASK_SHAPE' })
})

t.test('zeroHead: every task starts from a zero head, the setting survives resume, training still learns', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-maml-zero-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const engine = new TrainingEngine()
  t.teardown(() => engine.dispose())
  const net = createNetwork(arch, space)
  const head = (p: Float32Array) => ['head.fc.weight', 'head.fc.bias'].flatMap((n) => [...paramView(net.layout, p, n)])
  const path = join(dir, 'zero.bin')
  const start = await metaTrain({ ...base, iterations: 0, engine, zeroHead: true })
  t.ok(head(start.params).every((v) => v === 0), 'the initial head is zero')
  const before = await metaEvaluate(start, sampler, { tasks: 100, engine })
  await metaTrain({ ...base, iterations: 100, metaBatch: 4, engine, zeroHead: true, checkpoint: { path } })
  const loaded = await loadCheckpoint(path)
  t.equal(loaded.config.zeroHead, true, 'kept in the checkpoint')
  const resumed = await metaTrain({ ...base, iterations: 200, metaBatch: 4, engine, resumeFrom: loaded })
  t.equal(resumed.config.zeroHead, true, 'a resumed run keeps it')
  t.ok(head(resumed.params).every((v) => v === 0), 'the head stays zero after meta-updates')
  t.not(resumed.params[0], start.params[0], 'the body is trained')
  const after = await metaEvaluate(resumed, sampler, { tasks: 100, engine })
  t.ok(after.accuracy > before.accuracy + 0.1, `accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)}`)
  const plain = await metaTrain({ ...base, iterations: 1, engine })
  t.equal(plain.config.zeroHead, false, 'off by default')
  t.ok(head(plain.params).some((v) => v !== 0), 'a plain run trains its head')
})
