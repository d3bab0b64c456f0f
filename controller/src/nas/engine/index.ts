/** The ONNX Runtime training engine: forward, loss-and-gradient and fused inner-loop graphs per architecture. */
export { TrainingEngine, createNetwork, type Network, type EngineOptions, type StepResult, type ForwardResult, type InnerTask } from './engine.ts'
export { paramLayout, architectureLayout, initParams, paramView, blockPrefix, type ParamLayout, type ParamEntry, type SpaceIO } from './param-layout.ts'
export { exportParamSource, type BatchNormStats } from './export.ts'
export { GradTape, GraphConstants } from './grad-tape.ts'
export { buildStepModel, buildForwardModel, buildInnerLoopModel, type GraphSpec, type InnerShape } from './training-graph.ts'
export { InnerLoopPool, liveWorkerThreads, type InnerLoopPoolOptions } from './inner-loop-pool.ts'
export { serialRunner, type InnerLoopRunner, type InnerLoopOptions, type OnInnerLoopResult, type NetworkTask } from './inner-loop-runner.ts'
export { ParamsSizeMismatch, InputSizeMismatch, LabelOutOfRange, EngineDisposed, PoolWorkerFailed, PoolBusy } from './errors.ts'
