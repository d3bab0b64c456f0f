// Supernet meta-training on glyphs (16x16): it lowers the held-out query loss of the sandwich's
// ends; worker threads (a different network per task) equal the serial path bit for bit; a run
// resumed from its checkpoint equals the uninterrupted one; abort writes a checkpoint; bad
// checkpoints and mismatched resumes are refused with codes.
import t from 'tap'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { architectureId, createRng } from '@fleetnas/shared'
import { createGlyphDataset } from '../data/glyphs.ts'
import { createTaskSampler } from '../data/tasks.ts'
import { TrainingEngine, createNetwork } from '../engine/engine.ts'
import { serialRunner } from '../engine/inner-loop-runner.ts'
import { innerTaskOf, metaGradient } from '../maml/meta-train.ts'
import { loadSupernetCheckpoint, type SupernetCheckpoint } from './checkpoint.ts'
import { subnetCheckpoint } from './evaluate.ts'
import { supernetMetaTrain, type SupernetProgress } from './meta-train.ts'
import { SandwichSampler } from './sandwich.ts'
import { SUBNET_OPTIMIZATION } from './sessions.ts'

const dataset = createGlyphDataset({ seed: 3, size: 16, classes: { train: 100, val: 30, test: 10 }, samplesPerClass: 8 })
const sampler = createTaskSampler(dataset, { way: 3, shot: 1, query: 3, split: 'train' })
const val = createTaskSampler(dataset, { way: 3, shot: 1, query: 3, split: 'val' })
const base = { sampler, way: 3, shot: 1, query: 3, innerSteps: 2, metaBatch: 4, computeCap: 1, randomReuse: 3, seed: 2, outerLr: 3e-3 }

t.test('meta-training lowers the held-out query loss of the largest and smallest sub-networks', async (t) => {
  const engine = new TrainingEngine({ maxSessions: 24, graphOptimizationLevel: SUBNET_OPTIMIZATION })
  t.teardown(() => engine.dispose())
  const rng = createRng('held-out')
  const held = Array.from({ length: 30 }, () => innerTaskOf(val.sample(rng)))
  const score = async (ck: SupernetCheckpoint, id: string) => {
    const sub = subnetCheckpoint(ck, id)
    return metaGradient(serialRunner(engine), createNetwork(sub.arch, sub.space), sub.params, held, { steps: 2, lr: 0.4 })
  }
  const start = await supernetMetaTrain({ ...base, iterations: 0, engine })
  const progress: SupernetProgress[] = []
  const ck = await supernetMetaTrain({ ...base, iterations: 60, engine, onProgress: (p) => progress.push(p) })
  t.same(progress.map((p) => p.iteration), Array.from({ length: 60 }, (_, i) => i + 1))
  t.ok(progress.every((p) => p.subnets.length === 4 && p.roles.largest && p.roles.smallest && p.roles.random && Number.isFinite(p.loss) && p.tasksPerSecond > 0))
  const sandwich = new SandwichSampler(ck.space, ck.config)
  t.equal(progress[0].subnets[0], architectureId(sandwich.largest('conv')))
  for (const op of ck.space.ops) {
    const id = architectureId(sandwich.largest(op))
    const [before, after] = [await score(start, id), await score(ck, id)]
    t.ok(after.loss < before.loss - 0.05, `largest ${op}: query loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}`)
    t.ok(after.accuracy > before.accuracy, `largest ${op}: accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)}`)
  }
  const smallest = architectureId(sandwich.smallest('conv'))
  const [before, after] = [await score(start, smallest), await score(ck, smallest)]
  t.ok(after.loss < before.loss, `smallest conv: query loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}`)
  t.ok(after.accuracy > before.accuracy, `smallest conv: accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)}`)
})

t.test('worker threads equal the serial path; resume equals the uninterrupted run; abort writes a checkpoint', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-supernet-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const engine = new TrainingEngine({ maxSessions: 24, graphOptimizationLevel: SUBNET_OPTIMIZATION })
  t.teardown(() => engine.dispose())
  const straight = await supernetMetaTrain({ ...base, iterations: 6, engine })
  const parallel = await supernetMetaTrain({ ...base, iterations: 6, threads: 2 })
  t.ok(straight.params.every((v, i) => v === parallel.params[i]), 'two worker threads, each task its own sub-network: bit-identical to serial (same graph optimisation)')

  const path = join(dir, 'run', 'sn.ckpt')
  const half = await supernetMetaTrain({ ...base, iterations: 3, engine, checkpoint: { path, every: 1 } })
  t.same(await readdir(join(dir, 'run')), ['sn.ckpt'], 'no temporary files left behind')
  const loaded = await loadSupernetCheckpoint(path)
  t.equal(loaded.iteration, 3)
  t.ok(loaded.params.every((v, i) => v === half.params[i]) && loaded.adam.v.every((v, i) => v === half.adam.v[i]), 'loads exactly what was saved')
  t.same(loaded.config, half.config)
  const resumed = await supernetMetaTrain({ ...base, iterations: 6, engine, resumeFrom: path })
  t.equal(resumed.iteration, 6)
  t.ok(resumed.params.every((v, i) => v === straight.params[i]), 'resumed run equals the uninterrupted one')

  const ac = new AbortController()
  const stopped = join(dir, 'stopped.ckpt')
  const ck = await supernetMetaTrain({ ...base, iterations: 1000, engine, checkpoint: { path: stopped, every: 500 }, signal: ac.signal, onProgress: (p) => p.iteration === 2 && ac.abort() })
  t.equal(ck.iteration, 2)
  t.equal((await loadSupernetCheckpoint(stopped)).iteration, 2, 'abort stops after the iteration and writes the checkpoint')

  await t.rejects(supernetMetaTrain({ ...base, way: 4, iterations: 4, engine, resumeFrom: loaded }), { code: 'FLEETNAS_ERR_SUPERNET_CHECKPOINT_MISMATCH' })
  const bad = join(dir, 'bad.ckpt')
  await writeFile(bad, 'FNASSUP1 not really')
  await t.rejects(loadSupernetCheckpoint(bad), { code: 'FLEETNAS_ERR_SUPERNET_CHECKPOINT_INVALID' })
  await t.rejects(loadSupernetCheckpoint(join(dir, 'missing.ckpt')), { code: 'FLEETNAS_ERR_SUPERNET_CHECKPOINT_INVALID' })
  await t.rejects(supernetMetaTrain({ ...base, metaBatch: 1, iterations: 1, engine }), { code: 'FLEETNAS_ERR_SUPERNET_CONFIG' })
})
