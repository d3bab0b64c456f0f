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
