/**
 * A runner is one runtime (onnxruntime, tfjs) behind one interface: it prepares a measurement
 * target (a block, a whole architecture, or the empty graph) and returns raw per-run timings.
 * It computes no statistics; `stats.ts` does that once for every runner.
 */
import type { Architecture, BlockSpec, RuntimeInfo, RuntimeName } from '@fleetnas/shared'

export type MeasureTarget =
  | { kind: 'block'; key: string; spec: BlockSpec }
  | { kind: 'architecture'; key: string; arch: Architecture }
  /** The smallest graph on an input of these dims (NCHW): its time is the per-call overhead. */
  | { kind: 'empty'; key: string; inputDims: number[] }

export interface PreparedTarget {
  /** NCHW dims of the input, for matching the empty-graph overhead. */
  readonly inputDims: number[]
  /**
   * Takes `count` samples; each sample times `batch` back-to-back runs with one clock pair and is
   * their mean in ms (batching tiny targets keeps timer and call jitter out of the figure).
   * Stops early, between runs, when `signal` aborts.
   */
  run(count: number, batch?: number, signal?: AbortSignal): Promise<number[]>
  release(): Promise<void>
}

export interface Runner {
  readonly runtime: RuntimeName
  /** Execution provider (onnxruntime) or backend (tfjs) that the timings come from. */
  readonly backend: string
  readonly threads: number
  info(): RuntimeInfo
  prepare(target: MeasureTarget): Promise<PreparedTarget>
  dispose(): Promise<void>
}

export interface RunnerOptions {
  threads: number
}
