/**
 * TensorFlow.js: tfjs-node when it is installed (native TensorFlow), else the wasm backend, else
 * the pure JavaScript cpu backend. The backend in use is named in every measurement. tfjs is a
 * process-wide singleton, so the backend is chosen once; the wasm backend in Node runs one thread.
 */
import type * as tfTypes from '@tensorflow/tfjs'
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

async function importOptional(name: string): Promise<any | undefined> {
  try {
    return await import(name)
  } catch {
    return undefined
  }
}

async function loadTfjs(threads: number): Promise<LoadedTfjs> {
  const tfNode = await importOptional('@tensorflow/tfjs-node')
  if (tfNode) {
    await tfNode.ready()
    return { tf: tfNode as Tf, backend: 'tensorflow' }
  }
  const tf = (await import('@tensorflow/tfjs')) as Tf
  const wasm = await importOptional('@tensorflow/tfjs-backend-wasm')
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
