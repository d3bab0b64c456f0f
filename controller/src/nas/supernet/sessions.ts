/**
 * How the engines the supernet creates compile sub-networks' sessions. A supernet meets new
 * sub-networks all the time (random ones in training, thousands in a search), and ONNX Runtime's
 * graph optimisations ('all', the engine's default) add to every compile without making these
 * hand-built training graphs faster: on Conv4 and the three largest sandwich ends (28x28, 5-way
 * 1-shot, 15 queries, 5 inner steps, 1 thread), 'disabled' compiled in 108-236 ms against
 * 164-383 ms for 'all', at the same steady task time (within 3%).
 */
import type { EngineOptions } from '../engine/engine.ts'

export const SUBNET_OPTIMIZATION: NonNullable<EngineOptions['graphOptimizationLevel']> = 'disabled'

/** Sessions per engine: the six fixed sandwich ends, the random sub-networks and their successors, validation's. */
export const SUBNET_SESSIONS = 16
