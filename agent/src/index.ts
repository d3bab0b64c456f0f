/**
 * @fleetnas/agent public API.
 *   startAgent(config, opts?)      -> RunningAgent (deviceId, hardwareProfile, events, stop())
 *   resolveAgentConfig(sources?)   -> AgentConfig (file < env < flags, defaults, validation)
 *   agentCommand(name?)            -> commander Command, mountable as `fleetnas agent start`
 */
import type { Inventory, RuntimeName } from '@fleetnas/shared'
import type { Runner, RunnerOptions } from './runners/index.ts'
export { startAgent, type AgentEventMap, type RunningAgent, type StartAgentOptions } from './agent.ts'
export {
  AgentConfigInputSchema,
  DEFAULT_BROKER,
  DEFAULT_CONFIG_FILE,
  DEFAULT_PROFILES_DIR,
  resolveAgentConfig,
  type AgentConfig,
  type AgentConfigInput,
  type ConfigSources,
} from './config.ts'
export { agentCommand, AGENT_OPTIONS, runAgentFromFlags } from './cli.ts'
/** systeminformation probe of this machine (loaded on demand; the daemon probes in a worker). */
export async function collectInventory(): Promise<Inventory> {
  return (await import('./inventory.ts')).collectInventory()
}
export { HardwareProfileSchema, loadProfiles, matchProfile, type HardwareProfile } from './profiles.ts'
export { measureTargets, REFERENCE_BLOCK_KEY, type MeasureLoopOptions, type MeasureLoopResult } from './measure.ts'
export type { MeasureTarget, PreparedTarget, Runner, RunnerOptions } from './runners/index.ts'
export { measureInWorker, probeInWorker, type MeasureCallbacks, type WorkerEvent, type WorkerOptions } from './worker/worker-process.ts'
export type { MeasureRequest } from './worker/messages.ts'

/**
 * A runner of `runtime` in this process. Loaded on demand: importing this package (the daemon does)
 * must not load ONNX Runtime or tfjs; the daemon measures in a worker process.
 */
export async function createRunner(runtime: RuntimeName, opts: RunnerOptions): Promise<Runner> {
  const runners = await import('./runners/index.ts')
  return runners.createRunner(runtime, opts)
}
export { summarizeTimings, type TimingStats } from './stats.ts'
export * from './errors.ts'
export { AGENT_VERSION } from './version.ts'
