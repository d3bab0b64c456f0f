/** Error catalogue of meta-training (FLEETNAS_ERR_MAML_*). */
import { defineError } from '@fleetnas/shared'

export const MamlConfigInvalid = defineError(
  'FLEETNAS_ERR_MAML_CONFIG',
  400,
  (problems: string[]) => `invalid meta-training options: ${problems.join('; ')}`,
)

export const CheckpointInvalid = defineError(
  'FLEETNAS_ERR_MAML_CHECKPOINT_INVALID',
  400,
  (path: string, why: string) => `${path} is not a readable fleetnas MAML checkpoint (${why}); pass a file written by saveCheckpoint`,
)

export const CheckpointMismatch = defineError(
  'FLEETNAS_ERR_MAML_CHECKPOINT_MISMATCH',
  409,
  (why: string) => `cannot resume from this checkpoint: ${why}; start a new run or pass the matching options`,
)

export const TaskShapeMismatch = defineError(
  'FLEETNAS_ERR_MAML_TASK_SHAPE',
  400,
  (why: string) => `task does not fit the network: ${why}`,
)
