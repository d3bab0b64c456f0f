/**
 * `npm run bench:train`: one first-order MAML meta-iteration (Conv4, 5-way 1-shot, 15 queries per
 * class, 5 inner steps, meta-batch 4, 28x28x1) on the ONNX Runtime training engine, against
 *   - @tensorflow/tfjs on its default backend here (pure JS cpu, minutes per task: measured on one
 *     support step of 5 images and scaled linearly in images to 5 support steps + one 75-image
 *     query step per task; the scaling is printed),
 *   - ONNX Runtime's plain forward-convolution GFLOP/s (same run),
 *   - PyTorch (bench/train_torch.py) at 1 and 2 threads, Conv4 with 32 and 64 channels, when a
 *     python3 with torch is installed. The engine runs as metaTrain does: at 1 thread one session
 *     in this thread, at T > 1 threads the meta-batch's tasks in T worker threads (InnerLoopPool);
 *     at 2 threads one session at 2 intra-op threads is shown too, for comparison.
 * Prints wall time and process CPU time (all threads, workers included): this machine is shared,
 * and CPU time shows what the computation costs when another process takes the cores. In the
 * table engine and PyTorch alternate (2 rounds) and each keeps its minimum, with the 1-minute load
 * average at the start of each row. Targets are printed, not asserted.
 *
 * Flags: --quick (fewer repeats), --no-torch, --no-tfjs, --no-intra-op (skip the 2-intra-op-thread line).
 */
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import ort from 'onnxruntime-node'
import { OnnxGraph, conv4Family, createRng, isHead, type Architecture } from '@fleetnas/shared'
import { TrainingEngine, createNetwork, initParams, type Network } from '../controller/src/nas/engine/index.ts'
import { serialRunner } from '../controller/src/nas/engine/inner-loop-runner.ts'
import { adamStep, createAdamState, metaGradient, openRunner } from '../controller/src/nas/maml/index.ts'
import { tf, tfjsLossAndGrads } from '../controller/src/nas/engine/oracles/tfjs-net.ts'

const argv = new Set(process.argv.slice(2))
const quick = argv.has('--quick')
const WAY = 5
const SHOT = 1
const QUERY = 15
const STEPS = 5
const META_BATCH = 4
const LR = 0.4
const REPEATS = quick ? 2 : 4
/** Alternating engine / PyTorch rounds per table row. */
const ROUNDS = quick ? 1 : 2

const conv4 = (width: number): Architecture => conv4Family([width])[0]

interface Timing {
  wallMs: number
  cpuMs: number
}

/** Minimum over repeats of wall and CPU time (the least disturbed run). */
async function timeIt(f: () => Promise<unknown> | unknown, repeats: number, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await f()
  let wallMs = Infinity
  let cpuMs = Infinity
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await f()
    wallMs = Math.min(wallMs, performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpuMs = Math.min(cpuMs, (c.user + c.system) / 1000)
  }
  return { wallMs, cpuMs }
}

function makeTasks(net: Network, count: number) {
  const rng = createRng(7)
  const images = (n: number) => Float32Array.from({ length: n * net.imageSize }, () => rng.next())
  const labels = (per: number) => Int32Array.from({ length: WAY * per }, (_, i) => Math.floor(i / per))
  return Array.from({ length: count }, () => ({ supportX: images(WAY * SHOT), supportY: labels(SHOT), queryX: images(WAY * QUERY), queryY: labels(QUERY) }))
}

/** Conv MACs of one training step per image: forward, weight gradient, input gradient (none for the first layer). */
function trainingMacsPerImage(net: Network): number {
  let macs = 0
  net.blocks.forEach((b, i) => {
    if (isHead(b)) return
    const ho = Math.floor((b.input.h + 2 * Math.floor(b.kernel / 2) - b.kernel) / b.stride) + 1
    const fwd = ho * ho * b.outChannels * b.input.c * b.kernel * b.kernel
    macs += fwd * (i === 0 ? 2 : 3)
  })
  return macs
}

/**
 * One meta-iteration as metaTrain runs it at `threads` (workers above 1), or with `intraOp` one
 * session in this thread at that many intra-op threads.
 */
async function engineMetaIteration(width: number, threads: number, intraOp = false): Promise<Timing & { flopsPerTask: number }> {
  const net = createNetwork(conv4(width), { input: { h: 28, w: 28, c: 1 }, classes: WAY })
  const session = intraOp ? new TrainingEngine({ threads }) : undefined
  const { runner, close } = session ? { runner: serialRunner(session), close: () => session.dispose() } : openRunner({ threads }, META_BATCH)
  const params = initParams(net.layout, createRng(1))
  const adam = createAdamState(net.layout.size)
  const meta = new Float32Array(net.layout.size)
  const tasks = makeTasks(net, META_BATCH)
  const t = await timeIt(async () => {
    await metaGradient(runner, net, params, tasks, { steps: STEPS, lr: LR }, meta)
    adamStep(params, meta, adam, { lr: 1e-3 })
  }, REPEATS)
  await close()
  const flopsPerTask = 2 * trainingMacsPerImage(net) * (STEPS * WAY * SHOT + WAY * QUERY)
  return { wallMs: t.wallMs / META_BATCH, cpuMs: t.cpuMs / META_BATCH, flopsPerTask }
}

/** tfjs cpu backend: one support step (5 images), scaled linearly in images to a whole task. */
async function tfjsTask(width: number): Promise<{ support: Timing; perTask: Timing; scale: number }> {
  await tf.setBackend('cpu')
  const net = createNetwork(conv4(width), { input: { h: 28, w: 28, c: 1 }, classes: WAY })
  const params = initParams(net.layout, createRng(1))
  const [task] = makeTasks(net, 1)
  const support = await timeIt(() => tfjsLossAndGrads(net, params, task.supportX, task.supportY), 1, 1)
  // Images through forward+backward per task, in units of one support step.
  const scale = STEPS + (WAY * QUERY) / (WAY * SHOT)
  return { support, scale, perTask: { wallMs: scale * support.wallMs, cpuMs: scale * support.cpuMs } }
}

/** ONNX Runtime's plain forward convolution (Conv4's second layer at the query batch). */
async function ortConvGflops(threads: number): Promise<{ gflops: number; shape: string }> {
  const n = WAY * QUERY
  const g = new OnnxGraph('conv')
  const x = g.input('x', [n, 64, 14, 14])
  const rng = createRng(3)
  const w = g.floatInit('w', [64, 64, 3, 3], Float32Array.from({ length: 64 * 64 * 9 }, () => rng.normal() * 0.05))
  g.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'y')
  g.output('y', [n, 64, 14, 14])
  const s = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'all', intraOpNumThreads: threads, executionMode: 'sequential' })
  const feed = { x: new ort.Tensor('float32', Float32Array.from({ length: n * 64 * 196 }, () => rng.next()), [n, 64, 14, 14]) }
  const t = await timeIt(() => s.run(feed), 10, 2)
  await s.release()
  const flops = 2 * n * 14 * 14 * 64 * 64 * 9
  return { gflops: flops / (t.wallMs / 1000) / 1e9, shape: `${n}x64x14x14, 64->64 k3` }
}

function findTorchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' })
    if (r.status === 0) return py
  }
  return undefined
}

function torchTask(py: string, width: number, threads: number): Timing | undefined {
  const r = spawnSync(py, ['bench/train_torch.py', '--threads', String(threads), '--width', String(width), '--iterations', String(REPEATS), '--steps', String(STEPS)], {
    encoding: 'utf8',
    cwd: new URL('..', import.meta.url).pathname,
  })
  if (r.status !== 0) {
    console.log(`  pytorch failed: ${r.stderr.trim().split('\n').pop()}`)
    return undefined
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { msPerTaskMin: number; cpuMsPerTaskMin: number }
  return { wallMs: j.msPerTaskMin, cpuMs: j.cpuMsPerTaskMin }
}

const fmt = (t: Timing) => `${t.wallMs.toFixed(1)} ms wall, ${t.cpuMs.toFixed(1)} ms cpu`

console.log(`bench:train — first-order MAML, Conv4, ${WAY}-way ${SHOT}-shot ${QUERY} queries/class, ${STEPS} inner steps, meta-batch ${META_BATCH}, 28x28x1`)
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores; times are minima over ${REPEATS} meta-iterations, and in the table over ${ROUNDS} alternating rounds)`)

const engine64 = await engineMetaIteration(64, 1)
console.log(`\nONNX Runtime engine, 64 ch, 1 thread: ${fmt(engine64)} per task = ${(1000 / engine64.wallMs).toFixed(2)} tasks/s`)
const achieved = engine64.flopsPerTask / (engine64.wallMs / 1000) / 1e9
const achievedCpu = engine64.flopsPerTask / (engine64.cpuMs / 1000) / 1e9
const conv = await ortConvGflops(1)
console.log(`  conv FLOPs per task ${(engine64.flopsPerTask / 1e9).toFixed(2)} GFLOP -> achieved ${achieved.toFixed(1)} GFLOP/s (${achievedCpu.toFixed(1)} per cpu-second)`)
console.log(`  ONNX Runtime plain forward Conv (${conv.shape}), 1 thread: ${conv.gflops.toFixed(1)} GFLOP/s -> engine at ${((100 * achieved) / conv.gflops).toFixed(0)}% of it`)

if (!argv.has('--no-tfjs')) {
  const t = await tfjsTask(64)
  console.log(`\n@tensorflow/tfjs ${tf.version_core} backend '${tf.getBackend()}', 64 ch: measured 1 support step (5 images, loss + grads) ${fmt(t.support)}`)
  console.log(`  scaled x${t.scale} (${STEPS} support steps + one ${WAY * QUERY}-image query step): ${fmt(t.perTask)} per task = ${(1000 / t.perTask.wallMs).toFixed(4)} tasks/s`)
  const ratio = t.perTask.wallMs / engine64.wallMs
  console.log(`  engine / tfjs speed-up: ${ratio.toFixed(0)}x wall, ${(t.perTask.cpuMs / engine64.cpuMs).toFixed(0)}x cpu (target >= 100x: ${ratio >= 100 ? 'met' : 'NOT met'})`)
}

const py = argv.has('--no-torch') ? undefined : findTorchPython()
if (!py) console.log('\nPyTorch: not installed (apt-get install python3-torch), skipped')
else {
  console.log(`\nengine vs PyTorch (${py}), ms per task (target: engine no slower at the same thread count; ratio = pytorch / engine, > 1 is engine faster)`)
  console.log('  (engine at 1 thread: one session in the main thread; at 2: tasks in 2 worker threads, one intra-op thread each)')
  const best = (a: Timing | undefined, b: Timing | undefined): Timing | undefined =>
    !a ? b : !b ? a : { wallMs: Math.min(a.wallMs, b.wallMs), cpuMs: Math.min(a.cpuMs, b.cpuMs) }
  for (const width of [64, 32])
    for (const threads of [1, 2]) {
      // Engine and PyTorch alternate for ROUNDS rounds, each keeping its least disturbed figures,
      // so a burst of load from other jobs does not land on one side only.
      const load = loadavg()[0]
      let e: Timing | undefined = width === 64 && threads === 1 ? engine64 : undefined
      let p: Timing | undefined
      for (let round = 0; round < ROUNDS; round++) {
        e = best(e, await engineMetaIteration(width, threads))
        p = best(p, torchTask(py, width, threads))
      }
      if (!p || !e) continue
      const verdict = e.wallMs <= p.wallMs ? 'met' : 'NOT met'
      console.log(
        `  ${String(width).padStart(2)} ch, ${threads} thread(s): engine ${fmt(e)} | pytorch ${fmt(p)} | wall ratio ${(p.wallMs / e.wallMs).toFixed(2)}, cpu ratio ${(p.cpuMs / e.cpuMs).toFixed(2)} (${verdict}; load ${load.toFixed(2)})`,
      )
      if (threads > 1 && !argv.has('--no-intra-op')) {
        const s = await engineMetaIteration(width, threads, true)
        console.log(`      for comparison, one session at ${threads} intra-op threads: ${fmt(s)} | wall ratio ${(p.wallMs / s.wallMs).toFixed(2)}`)
      }
    }
}
console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
