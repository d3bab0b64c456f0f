/**
 * The agent's error catalogue. Every failure a user or the controller can see has a code here;
 * tests assert the codes.
 */
import { defineError } from '@fleetnas/shared'

export const ConfigInvalid = defineError(
  'FLEETNAS_ERR_AGENT_CONFIG_INVALID',
  400,
  (problems: string[]) => `agent configuration is invalid:\n  - ${problems.join('\n  - ')}`,
)

export const ConfigFileInvalid = defineError(
  'FLEETNAS_ERR_AGENT_CONFIG_FILE',
  400,
  (file: string, why: string) => `agent config file ${file} cannot be used: ${why}`,
)

export const StateDirUnusable = defineError(
  'FLEETNAS_ERR_AGENT_STATE_DIR',
  500,
  (dir: string, why: string) => `state directory ${dir} is not usable (${why}); pass --state-dir or FLEETNAS_STATE_DIR`,
)

export const ProfileInvalid = defineError(
  'FLEETNAS_ERR_AGENT_PROFILE_INVALID',
  400,
  (file: string, why: string) => `hardware profile ${file} is invalid: ${why}`,
)

export const ProfileNotFound = defineError(
  'FLEETNAS_ERR_AGENT_PROFILE_NOT_FOUND',
  404,
  (id: string, known: string[]) => `hardware profile "${id}" does not exist; known profiles: ${known.join(', ') || '(none)'}`,
)

export const RuntimeUnavailable = defineError(
  'FLEETNAS_ERR_AGENT_RUNTIME_UNAVAILABLE',
  422,
  (runtime: string, why: string) => `runtime ${runtime} cannot run here: ${why}`,
)

export const JobInvalid = defineError(
  'FLEETNAS_ERR_AGENT_JOB_INVALID',
  400,
  (jobId: string, why: string) => `job ${jobId} cannot be run: ${why}`,
)

export const MeasureCanceled = defineError('FLEETNAS_ERR_AGENT_CANCELED', 409, (why: string) => `measurement stopped: ${why}`)

export const WorkerDied = defineError(
  'FLEETNAS_ERR_AGENT_WORKER_DIED',
  500,
  (how: string, detail: string) =>
    `the measurement worker ${how}${detail ? ` (${detail})` : ''}; the agent itself kept running, measurements sent before it ended are kept`,
)
