/** Error catalogue of the supernet (FLEETNAS_ERR_SUPERNET_*). */
import { defineError } from '@fleetnas/shared'

export const SupernetConfigInvalid = defineError(
  'FLEETNAS_ERR_SUPERNET_CONFIG',
  400,
  (problems: string[]) => `invalid supernet options: ${problems.join('; ')}`,
)

export const SupernetSpaceUnsupported = defineError(
  'FLEETNAS_ERR_SUPERNET_SPACE',
  400,
  (why: string) => `this search space cannot share weights as a supernet: ${why}`,
)

export const SupernetCheckpointInvalid = defineError(
  'FLEETNAS_ERR_SUPERNET_CHECKPOINT_INVALID',
  400,
  (path: string, why: string) => `${path} is not a readable fleetnas supernet checkpoint (${why}); pass a file written by \`fleetnas supernet train\``,
)

export const SupernetCheckpointMismatch = defineError(
  'FLEETNAS_ERR_SUPERNET_CHECKPOINT_MISMATCH',
  409,
  (why: string) => `cannot resume from this supernet checkpoint: ${why}; start a new run or pass the matching options`,
)

export const SubnetNotInSpace = defineError(
  'FLEETNAS_ERR_SUPERNET_SUBNET',
  400,
  (id: string, why: string) => `${id} is not a sub-network of this supernet: ${why}`,
)
