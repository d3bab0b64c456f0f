/**
 * Where an architecture request's accuracy comes from: a meta-trained supernet. The search ranks
 * thousands of candidates with a predictor fitted on real few-shot evaluations of sub-networks,
 * confirms the best few for real, optionally fine-tunes the chosen one alone, and exports it with
 * its inherited (or fine-tuned) weights.
 */
import type { Architecture } from '@fleetnas/shared'
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

export interface FinetuneOptions {
  /** MAML meta-iterations of the sub-network alone, from its inherited weights. */
  iterations: number
  /** Checkpoint file written as it goes; a run finds it there after a restart and continues. */
  path: string
  onProgress?: (done: number, total: number) => void
  /** Stops after the current iteration (the checkpoint is still written). */
  signal?: AbortSignal
}

export interface AccuracySource {
  /** What the figures come from, e.g. the supernet checkpoint's path and training. */
  describe(): { checkpoint: string; iterations: number }
  /**
   * Architectures the source trains best (a supernet: the uniform networks within its training cap,
   * what the sandwich rule's ends train). The search starts from them and confirms the most
   * promising of them for real beside its own best, so an answer is never worse than the best of
   * these within the budget only because the predictor ranked them low.
   */
  anchors(): Architecture[]
  /** A predictor for tasks of this shape (fitted once, then cached). */
  predictor(task: FewShotTask, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<AccuracyPredictor>
  /**
   * Real few-shot evaluation of one sub-network, with its inherited weights or those of a fine-tuned
   * checkpoint (`weights`, what `finetune` wrote); the same tasks either way, so the two compare.
   */
  evaluate(architectureId: string, task: FewShotTask & { tasks: number }, weights?: string): Promise<MeasuredAccuracy>
  /** Meta-trains the sub-network alone from its inherited weights, with the supernet's recipe and data. */
  finetune(architectureId: string, opts: FinetuneOptions): Promise<{ iterations: number; trainMs: number }>
  /** The sub-network as an ONNX inference model (batch x classes logits) with its weights. */
  exportModel(architectureId: string, way: number, weights?: string): Promise<Uint8Array>
  /** The sub-network as a MAML checkpoint at `way` classes (what `fleetnas adapt` and `meta-eval` take). */
  exportCheckpoint(architectureId: string, way: number, weights?: string): Promise<Uint8Array>
}
