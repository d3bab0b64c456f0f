/** Meta-learning (first-order MAML) on the ONNX Runtime training engine: the API the CLI and NAS call. */
export { metaTrain, metaGradient, innerTaskOf, accuracyOf, checkTask, mamlTaskRng, type MetaTrainOptions, type MetaTrainProgress, type LabelledTask } from './meta-train.ts'
export { openRunner, type RunnerOptions, type OpenRunner } from './runner.ts'
export { metaEvaluate, meanAndCi95, type EvaluateOptions, type EvaluateResult } from './evaluate.ts'
export { adapt, predict, adaptAndPredict, softmaxRows, type Prediction, type AdaptOptions } from './adapt.ts'
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, writeFileAtomic, type Checkpoint } from './checkpoint.ts'
export { resolveMamlConfig, MAML_DEFAULTS, type MamlConfig } from './config.ts'
export { adamStep, sgdStep, createAdamState, type AdamState, type AdamOptions } from './adam.ts'
export { MamlConfigInvalid, CheckpointInvalid, CheckpointMismatch, TaskShapeMismatch } from './errors.ts'
