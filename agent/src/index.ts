/**
 * @fleetnas/agent public API.
 *   startAgent(config, opts?)      -> RunningAgent (deviceId, hardwareProfile, events, stop())
 *   resolveAgentConfig(sources?)   -> AgentConfig (file < env < flags, defaults, validation)
 *   agentCommand(name?)            -> commander Command, mountable as `fleetnas agent start`
 */
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
export { agentCommand, AGENT_OPTIONS, exitCodeFor, runAgentFromFlags } from './cli.ts'
export { collectInventory } from './inventory.ts'
export { HardwareProfileSchema, loadProfiles, matchProfile, type HardwareProfile } from './profiles.ts'
export { measureTargets, REFERENCE_BLOCK_KEY, type MeasureLoopOptions, type MeasureLoopResult } from './measure.ts'
export { createRunner, type MeasureTarget, type PreparedTarget, type Runner } from './runners/index.ts'
export { summarizeTimings, type TimingStats } from './stats.ts'
export * from './errors.ts'
export { AGENT_VERSION } from './version.ts'
