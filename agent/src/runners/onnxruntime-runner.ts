/**
 * ONNX Runtime (onnxruntime-node), the deployment runtime: the target is built as an ONNX graph by
 * the shared builder, so the agent times exactly what the controller trains and exports. One
 * intra-op pool of `threads`, no inter-op parallelism, sequential execution, full graph
 * optimisation (as deployed), CPU execution provider.
 *
 * Why the native binding: onnxruntime-node's public `session.run` is the same synchronous native
 * call wrapped in a setImmediate, so every run also pays one event-loop turn (2-6 us here, and
 * the noisiest part of a 10 us block). When the binding has the expected shape the runner calls it
 * directly (yielding to the event loop between samples); otherwise it uses the public API.
 */
import { createRequire } from 'node:module'
import * as ort from 'onnxruntime-node'
import { buildArchitectureModel, buildBlockModel, buildEmptyModel, type BuiltModel } from '@fleetnas/shared'
import type { MeasureTarget, PreparedTarget, Runner, RunnerOptions } from './runner.ts'

export function buildTargetModel(target: MeasureTarget): BuiltModel {
  switch (target.kind) {
    case 'block':
      return buildBlockModel(target.spec)
    case 'architecture':
      return buildArchitectureModel(target.arch)
    case 'empty':
      return buildEmptyModel(target.inputDims)
  }
}

type Feeds = Record<string, ort.Tensor>

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void
  run(feeds: Feeds, fetches: Record<string, null>, options: object): unknown
  dispose(): void
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession }
  initOrt: () => void
}

function loadNativeBinding(): NativeBinding | undefined {
  try {
    const native = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as NativeBinding
    if (typeof native.initOrt !== 'function' || typeof native.binding?.InferenceSession !== 'function') return undefined
    native.initOrt()
    return native
  } catch {
    return undefined
  }
}

/** A session that runs once, synchronously or not: the runner's only view of ONNX Runtime. */
interface TimedSession {
  runOnce(): unknown
  release(): Promise<void>
}

/** Longest stretch the runner keeps the event loop busy (MQTT keep-alive, abort signals). */
const YIELD_EVERY_MS = 5
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

export interface OnnxRuntimeRunnerOptions extends RunnerOptions {
  /** Force the public async API (tests compare both paths). */
  publicApiOnly?: boolean
}

export function createOnnxRuntimeRunner(opts: OnnxRuntimeRunnerOptions): Runner {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  }
  const native = opts.publicApiOnly ? undefined : loadNativeBinding()

  async function openSession(model: BuiltModel, feeds: Feeds): Promise<TimedSession> {
    if (native) {
      const s = new native.binding.InferenceSession()
      const b = model.bytes
      s.loadModel(b.buffer, b.byteOffset, b.byteLength, sessionOptions)
      const fetches = { [model.outputName]: null }
      return { runOnce: () => s.run(feeds, fetches, {}), release: async () => s.dispose() }
    }
    const s = await ort.InferenceSession.create(model.bytes, sessionOptions)
    return { runOnce: () => s.run(feeds), release: () => s.release() }
  }

  return {
    runtime: 'onnxruntime',
    backend: 'cpu',
    threads: opts.threads,
    info: () => ({
      name: 'onnxruntime',
      version: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
      backends: ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name),
    }),
    async prepare(target) {
      const model = buildTargetModel(target)
      const size = model.inputDims.reduce((a, b) => a * b, 1)
      const data = new Float32Array(size)
      for (let i = 0; i < size; i++) data[i] = Math.sin(i) // fixed, non-zero input
      const session = await openSession(model, { [model.inputName]: new ort.Tensor('float32', data, model.inputDims) })
      const prepared: PreparedTarget = {
        inputDims: model.inputDims,
        async run(count, batch = 1, signal) {
          const times: number[] = []
          let sinceYield = performance.now()
          for (let i = 0; i < count && !signal?.aborted; i++) {
            const t0 = performance.now()
            for (let j = 0; j < batch; j++) await session.runOnce()
            const t1 = performance.now()
            times.push((t1 - t0) / batch)
            if (t1 - sinceYield > YIELD_EVERY_MS) {
              await yieldToEventLoop()
              sinceYield = performance.now()
            }
          }
          return times
        },
        release: () => session.release(),
      }
      return prepared
    },
    async dispose() {},
  }
}
