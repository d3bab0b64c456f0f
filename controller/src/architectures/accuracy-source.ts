/**
 * Where an architecture request's accuracy comes from: a meta-trained supernet. The search ranks
 * thousands of candidates with a predictor fitted on real few-shot evaluations of sub-networks,
 * confirms the best few for real, and exports the chosen one with its inherited weights.
 */
import type { AccuracyPredictor } from '../nas/search/accuracy-predictor.ts'

export interface FewShotTask {
  way: number
  shot: number
}

export interface MeasuredAccuracy {
  /** Mean query accuracy over the tasks, and the half-width of its 95% interval. */
  mean: number
  ci95: number
  tasks: number
}

export interface AccuracySource {
  /** What the figures come from, e.g. the supernet checkpoint's path and training. */
  describe(): { checkpoint: string; iterations: number }
  /** A predictor for tasks of this shape (fitted once, then cached). */
  predictor(task: FewShotTask, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<AccuracyPredictor>
  /** Real few-shot evaluation of one sub-network with its inherited weights. */
  evaluate(architectureId: string, task: FewShotTask & { tasks: number }, signal?: AbortSignal): Promise<MeasuredAccuracy>
  /** The sub-network as an ONNX inference model (batch x classes logits) with its weights. */
  exportModel(architectureId: string, way: number): Promise<Uint8Array>
  /** The sub-network as a MAML checkpoint at `way` classes (what `fleetnas adapt` and `meta-eval` take). */
  exportCheckpoint(architectureId: string, way: number): Uint8Array
}
