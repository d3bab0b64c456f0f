/**
 * TensorFlow.js: tfjs-node when it is installed (native TensorFlow), else the wasm backend, else
 * the pure JavaScript cpu backend. The backend in use is named in every measurement. tfjs is a
 * process-wide singleton, so the backend is chosen once; the wasm backend in Node runs one thread.
 * Only tfjs-core and its backends are loaded (not the full @tensorflow/tfjs with webgl, layers and
 * the converter): a block is built from core ops, and a device bundle carries no more than that.
 */
import type * as tfTypes from '@tensorflow/tfjs-core'
import { RuntimeUnavailable } from '../errors.ts'
import { buildTfjsModel } from './tfjs-block.ts'
import type { PreparedTarget, Runner, RunnerOptions } from './runner.ts'

type Tf = typeof tfTypes

interface LoadedTfjs {
  tf: Tf
  backend: string
  /** Thread counts this backend honours; undefined = any (tfjs-node sizes its own pool). */
  threads?: number
}

let loading: Promise<LoadedTfjs> | undefined

/** An optional dependency that builds against libtensorflow at install time: often absent, and never in a device bundle. */
const TFJS_NODE: string = '@tensorflow/tfjs-node'

/** Each caller passes its own import() so a bundler sees the package names (all but tfjs-node's). */
async function importOptional(load: () => Promise<any>): Promise<any | undefined> {
  try {
    return await load()
  } catch {
    return undefined
  }
}

async function loadTfjs(threads: number): Promise<LoadedTfjs> {
  const tfNode = await importOptional(() => import(TFJS_NODE))
  if (tfNode) {
    await tfNode.ready()
    return { tf: tfNode as Tf, backend: 'tensorflow' }
  }
  const tf = (await import('@tensorflow/tfjs-core')) as Tf
  // Registers the cpu backend with tfjs-core (the wasm backend needs it too, for some kernels).
  await import('@tensorflow/tfjs-backend-cpu')
  const wasm = await importOptional(() => import('@tensorflow/tfjs-backend-wasm'))
  if (wasm) {
    try {
      wasm.setThreadsCount?.(threads)
      if (await tf.setBackend('wasm')) {
        await tf.ready()
        return { tf, backend: 'wasm', threads: wasm.getThreadsCount?.() ?? 1 }
      }
    } catch {
      // fall through to cpu
    }
  }
  await tf.setBackend('cpu')
  await tf.ready()
  return { tf, backend: 'cpu', threads: 1 }
}

/** Loads tfjs once per process and picks its backend. */
export async function createTfjsRunner(opts: RunnerOptions): Promise<Runner> {
  loading ??= loadTfjs(opts.threads)
  const { tf, backend, threads } = await loading
  if (threads !== undefined && threads !== opts.threads)
    throw RuntimeUnavailable('tfjs', `the ${backend} backend runs ${threads} thread(s) here, the job asks for ${opts.threads}`)
  return {
    runtime: 'tfjs',
    backend,
    threads: opts.threads,
    info: () => ({ name: 'tfjs', version: tf.version_core, backends: [backend] }),
    async prepare(target) {
      const model = buildTfjsModel(tf, target)
      const prepared: PreparedTarget = {
        inputDims: model.inputDims,
        async run(count, batch = 1, signal) {
          const times: number[] = []
          for (let i = 0; i < count && !signal?.aborted; i++) {
            const t0 = performance.now()
            for (let j = 0; j < batch; j++) {
              const y = tf.tidy(() => model.forward(model.input))
              y.dataSync() // wait for the result
              y.dispose()
            }
            times.push((performance.now() - t0) / batch)
          }
          return times
        },
        async release() {
          for (const w of model.weights) w.dispose()
        },
      }
      return prepared
    },
    async dispose() {},
  }
}
