/** Error catalogue of the training engine (FLEETNAS_ERR_ENGINE_*). */
import { defineError } from '@fleetnas/shared'

export const ParamsSizeMismatch = defineError(
  'FLEETNAS_ERR_ENGINE_PARAMS_SIZE',
  400,
  (arch: string, expected: number, got: number) =>
    `parameters for ${arch} must hold ${expected} float32 values, got ${got}; build them with initParams(layout) or load the matching checkpoint`,
)

export const InputSizeMismatch = defineError(
  'FLEETNAS_ERR_ENGINE_INPUT_SIZE',
  400,
  (what: string, expected: number, got: number) => `${what} must hold ${expected} values (NCHW float32), got ${got}`,
)

export const LabelOutOfRange = defineError(
  'FLEETNAS_ERR_ENGINE_LABEL_RANGE',
  400,
  (label: number, classes: number) => `label ${label} is outside 0..${classes - 1}; the architecture's head has ${classes} classes`,
)

export const EngineDisposed = defineError(
  'FLEETNAS_ERR_ENGINE_DISPOSED',
  500,
  () => 'the training engine was disposed; create a new one',
)

export const PoolWorkerFailed = defineError(
  'FLEETNAS_ERR_ENGINE_WORKER_FAILED',
  500,
  (reason: string) => `an inner-loop worker thread failed (${reason}); the pool is unusable, dispose it and create a new one`,
)

export const PoolBusy = defineError(
  'FLEETNAS_ERR_ENGINE_POOL_BUSY',
  409,
  () => 'the inner-loop pool is already running tasks; await the previous run() before starting another',
)
