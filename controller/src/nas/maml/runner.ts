/**
 * Which inner-loop runner a MAML call uses. With more than one thread and more than one task per
 * batch, tasks run side by side in an InnerLoopPool (worker threads, one intra-op thread each):
 * one ONNX Runtime session barely uses a second thread for these small convolutions, whole tasks
 * in parallel do. Otherwise tasks run one after another on a TrainingEngine in this thread.
 */
import { TrainingEngine, type EngineOptions } from '../engine/engine.ts'
import { InnerLoopPool } from '../engine/inner-loop-pool.ts'
import { serialRunner, type InnerLoopRunner } from '../engine/inner-loop-runner.ts'

export interface RunnerOptions {
  /** Threads to use (default: the engine's, else 1). */
  threads?: number
  /** Run in this thread on this engine when not parallel; it is not disposed. */
  engine?: TrainingEngine
  /** Use this pool (owned by the caller, not disposed) whatever `threads` says. */
  pool?: InnerLoopPool
  /** Sessions kept per engine created here (default: the engine's and pool's own defaults). */
  maxSessions?: number
  /** ONNX Runtime graph optimisation of engines created here (default: the engine's). */
  graphOptimizationLevel?: EngineOptions['graphOptimizationLevel']
}

export interface OpenRunner {
  runner: InnerLoopRunner
  /** Releases what was created for this call (workers are terminated). */
  close(): Promise<void>
}

export function openRunner(opts: RunnerOptions, tasksPerBatch: number): OpenRunner {
  if (opts.pool) return { runner: opts.pool, close: async () => {} }
  const threads = Math.max(1, Math.floor(opts.threads ?? opts.engine?.threads ?? 1))
  if (threads > 1 && tasksPerBatch > 1) {
    const pool = new InnerLoopPool({ workers: Math.min(threads, tasksPerBatch), maxSessions: opts.maxSessions, graphOptimizationLevel: opts.graphOptimizationLevel })
    return { runner: pool, close: () => pool.dispose() }
  }
  if (opts.engine) return { runner: serialRunner(opts.engine), close: async () => {} }
  const engine = new TrainingEngine({ threads, maxSessions: opts.maxSessions, graphOptimizationLevel: opts.graphOptimizationLevel })
  return { runner: serialRunner(engine), close: () => engine.dispose() }
}
