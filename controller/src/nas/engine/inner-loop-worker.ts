/**
 * One worker thread of the inner-loop pool (inner-loop-pool.ts): its own TrainingEngine at one
 * intra-op thread, running one task at a time.
 *   in:  { id, net: { arch, space }, params: SharedArrayBuffer, task, opts }
 *        (the parameters are copied out of the shared buffer per task: ONNX Runtime rejects tensors on
 *        shared memory; the pool does not write the buffer while a run is going on)
 *   out: { id, loss, logits, grads } with the arrays transferred, or { id, error: { code, message, statusCode } }
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { Architecture } from '@fleetnas/shared'
import { TrainingEngine, createNetwork, type EngineOptions, type InnerTask, type Network } from './engine.ts'
import type { SpaceIO } from './param-layout.ts'
import { LruCache } from './lru-cache.ts'

export interface WorkerRequest {
  id: number
  net: { arch: Architecture; space: SpaceIO }
  params: SharedArrayBuffer
  task: InnerTask
  opts: { steps: number; lr: number; mode: 'train' | 'eval' }
}

export type WorkerReply =
  | { id: number; loss: number; logits: Float32Array; grads: Float32Array }
  | { id: number; error: { code?: string; message: string; statusCode?: number } }

if (!parentPort) throw new Error('inner-loop-worker runs as a worker thread of InnerLoopPool')
const port = parentPort
const { maxSessions, graphOptimizationLevel } = (workerData ?? {}) as Pick<EngineOptions, 'maxSessions' | 'graphOptimizationLevel'>
const engine = new TrainingEngine({ threads: 1, maxSessions, graphOptimizationLevel })
const networks = new LruCache<string, { net: Network; params: Float32Array }>(Math.max(8, maxSessions ?? 0))

function networkOf(req: WorkerRequest): { net: Network; params: Float32Array } {
  const key = JSON.stringify(req.net)
  let entry = networks.get(key)
  if (!entry) {
    const net = createNetwork(req.net.arch, req.net.space)
    entry = { net, params: new Float32Array(net.layout.size) }
    networks.set(key, entry)
  }
  return entry
}

// Messages are handled strictly one after another: engine results are views into reused buffers.
let queue = Promise.resolve()
port.on('message', (req: WorkerRequest) => {
  queue = queue.then(() => handle(req))
})

async function handle(req: WorkerRequest): Promise<void> {
  try {
    const { net, params } = networkOf(req)
    params.set(new Float32Array(req.params, 0, net.layout.size))
    const r = await engine.innerLoop(net, params, req.task, req.opts)
    const logits = r.logits.slice()
    const grads = r.grads.slice()
    port.postMessage({ id: req.id, loss: r.loss, logits, grads } satisfies WorkerReply, [logits.buffer, grads.buffer])
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown; statusCode?: unknown }
    port.postMessage({
      id: req.id,
      error: {
        code: typeof err.code === 'string' ? err.code : undefined,
        message: String(err.message ?? e),
        statusCode: typeof err.statusCode === 'number' ? err.statusCode : undefined,
      },
    } satisfies WorkerReply)
  }
}
