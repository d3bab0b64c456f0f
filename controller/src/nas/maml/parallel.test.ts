// The worker-thread path of MAML: its meta-gradient equals the serial path's, training and
// evaluation give the serial results, resumes stay bit-exact, errors keep their codes, and no
// worker thread outlives the call that started it (ended, aborted or failed).
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng } from '@fleetnas/shared'
import { TrainingEngine, createNetwork } from '../engine/engine.ts'
import { initParams } from '../engine/param-layout.ts'
import { InnerLoopPool, liveWorkerThreads } from '../engine/inner-loop-pool.ts'
import { serialRunner } from '../engine/inner-loop-runner.ts'
import { relativeError } from '../engine/oracles/grad-check.ts'
import { checkTask, innerTaskOf, metaEvaluate, metaGradient, metaTrain } from './index.ts'
import { arch, base, sampler, space, syntheticSampler } from './test-tasks.ts'

const net = createNetwork(arch, space)
const tasksOf = (seed: number, n: number) => {
  const rng = createRng(seed)
  return Array.from({ length: n }, () => innerTaskOf(checkTask(net, sampler.sample(rng))))
}

t.test('the parallel meta-gradient equals the serial one', async (t) => {
  const engine = new TrainingEngine({ threads: 1 })
  const pool = new InnerLoopPool({ workers: 2 })
  t.teardown(() => Promise.all([engine.dispose(), pool.dispose()]))
  const params = initParams(net.layout, createRng(3))
  const tasks = tasksOf(11, 5)
  const opts = { steps: 3, lr: 0.4 }
  const serial = await metaGradient(serialRunner(engine), net, params, tasks, opts)
  const parallel = await metaGradient(pool, net, params, tasks, opts)
  t.ok(relativeError(parallel.grads, serial.grads) <= 1e-5, `relative error ${relativeError(parallel.grads, serial.grads)}`)
  t.ok(Math.abs(parallel.loss - serial.loss) <= 1e-5 * Math.abs(serial.loss))
  t.equal(parallel.accuracy, serial.accuracy)
  t.equal(pool.threadIds.length, 2)
  // The pool is reusable, and new parameters reach the workers.
  params[0] += 0.5
  const again = await metaGradient(pool, net, params, tasks, opts)
  const serialAgain = await metaGradient(serialRunner(engine), net, params, tasks, opts)
  t.ok(relativeError(again.grads, serialAgain.grads) <= 1e-5)
  t.ok(relativeError(again.grads, serial.grads) > 1e-5, 'the changed parameters were used')
})

t.test('metaTrain and metaEvaluate on two threads give the serial results; resume stays bit-exact', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-maml-par-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const serial = await metaTrain({ ...base, iterations: 4, threads: 1 })
  const parallel = await metaTrain({ ...base, iterations: 4, threads: 2 })
  t.ok(relativeError(parallel.params, serial.params) <= 1e-5, `params relative error ${relativeError(parallel.params, serial.params)}`)
  t.ok(Math.abs(parallel.metrics!.loss - serial.metrics!.loss) <= 1e-5 * serial.metrics!.loss)
  t.equal(liveWorkerThreads(), 0, 'workers are gone when training ends')

  const path = join(dir, 'ck.bin')
  await metaTrain({ ...base, iterations: 2, threads: 2, checkpoint: { path } })
  const resumed = await metaTrain({ ...base, iterations: 4, threads: 2, resumeFrom: path })
  t.same(resumed.params, parallel.params, 'resumed parallel run equals the uninterrupted one')

  const evalSerial = await metaEvaluate(serial, sampler, { tasks: 9, threads: 1 })
  const seen: number[] = []
  const evalParallel = await metaEvaluate(serial, sampler, { tasks: 9, threads: 2, onProgress: (done) => seen.push(done) })
  t.same(evalParallel, evalSerial)
  t.same(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'progress comes in task order')
  t.equal(liveWorkerThreads(), 0, 'workers are gone when evaluation ends')
})

t.test('errors keep their codes and still release the workers', async (t) => {
  // A task that does not fit the network fails in the sampler (main thread) mid-iteration.
  await t.rejects(metaTrain({ ...base, sampler: syntheticSampler(4, 1, 5), iterations: 2, threads: 2 }), { code: 'FLEETNAS_ERR_MAML_TASK_SHAPE' })
  t.equal(liveWorkerThreads(), 0)
  // A bad label fails inside a worker; the engine's code comes back.
  const pool = new InnerLoopPool({ workers: 2 })
  t.teardown(() => pool.dispose())
  const tasks = tasksOf(12, 3)
  tasks[1] = { ...tasks[1], supportY: Int32Array.from(tasks[1].supportY, () => 7) }
  const params = initParams(net.layout, createRng(3))
  await t.rejects(metaGradient(pool, net, params, tasks, { steps: 1, lr: 0.1 }), { code: 'FLEETNAS_ERR_ENGINE_LABEL_RANGE' })
  await t.rejects(metaGradient(pool, net, params.subarray(1), tasks, { steps: 1, lr: 0.1 }), { code: 'FLEETNAS_ERR_ENGINE_PARAMS_SIZE' })
  const busy = metaGradient(pool, net, params, tasksOf(13, 2), { steps: 1, lr: 0.1 })
  await t.rejects(metaGradient(pool, net, params, tasksOf(13, 2), { steps: 1, lr: 0.1 }), { code: 'FLEETNAS_ERR_ENGINE_POOL_BUSY' })
  await busy
  await pool.dispose()
  t.equal(liveWorkerThreads(), 0)
  await t.rejects(metaGradient(pool, net, params, tasks, { steps: 1, lr: 0.1 }), { code: 'FLEETNAS_ERR_ENGINE_DISPOSED' })
})

/** Runs the fixture in a child process; resolves with its exit code and output, or 'hung'. */
function runChild(args: string[], timeoutMs: number): Promise<{ code: number | 'hung'; out: string }> {
  const fixture = fileURLToPath(new URL('./parallel-exit.fixture.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { cwd: fileURLToPath(new URL('../../../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ code: 'hung', out })
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, out })
    })
  })
}

t.test('a process that trained on workers exits by itself, after a full run and after an abort', async (t) => {
  const [full, aborted] = await Promise.all([runChild([], 50_000), runChild(['--abort'], 50_000)])
  t.equal(full.code, 0, 'full run exits')
  t.same(JSON.parse(full.out.trim()), { iteration: 3, liveWorkers: 0 })
  t.equal(aborted.code, 0, 'aborted run exits')
  t.same(JSON.parse(aborted.out.trim()), { iteration: 1, liveWorkers: 0 })
})
