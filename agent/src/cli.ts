/**
 * `fleetnas-agent` (and `fleetnas agent start`): parses flags, merges them over the environment and
 * the config file, starts the agent and runs until SIGINT or SIGTERM, then stops gracefully.
 * Errors map to exit codes by the one map of every fleetnas command (shared/src/exit-codes.ts): 2 for
 * configuration problems, 3 for an unknown hardware profile, 1 for anything else.
 */
import { Command, Option } from 'commander'
import { exitCodeFor, isFleetnasError } from '@fleetnas/shared'
import { startAgent } from './agent.ts'
import { resolveAgentConfig, type AgentConfigInput, LOG_LEVELS } from './config.ts'
import { AGENT_VERSION } from './version.ts'

/** The flags, as data, so another CLI can mount the same command. */
export const AGENT_OPTIONS = [
  { flags: '--broker <url>', description: 'MQTT broker URL (env FLEETNAS_BROKER; default mqtt://localhost:1883)' },
  { flags: '--config <file>', description: 'JSON config file (default /etc/fleetnas/agent.json if present)' },
  { flags: '--state-dir <dir>', description: 'state directory (env FLEETNAS_STATE_DIR; default /var/lib/fleetnas or ~/.fleetnas)' },
  { flags: '--device-id <id>', description: 'device id (env FLEETNAS_DEVICE_ID; default generated once)' },
  { flags: '--username <name>', description: 'broker username (env FLEETNAS_USERNAME)' },
  { flags: '--password <secret>', description: 'broker password (env FLEETNAS_PASSWORD)' },
  { flags: '--threads <n>', description: 'default measuring threads (env FLEETNAS_THREADS; default from the profile)' },
  { flags: '--hardware-profile <id>', description: 'force a hardware profile (env FLEETNAS_HARDWARE_PROFILE)' },
  { flags: '--log-level <level>', description: `log level: ${LOG_LEVELS.join(', ')}` },
] as const

interface CliFlags {
  broker?: string
  config?: string
  stateDir?: string
  deviceId?: string
  username?: string
  password?: string
  threads?: string
  hardwareProfile?: string
  logLevel?: string
}


export function flagsToInput(flags: CliFlags): AgentConfigInput {
  const input: AgentConfigInput = {
    broker: flags.broker,
    stateDir: flags.stateDir,
    deviceId: flags.deviceId,
    username: flags.username,
    password: flags.password,
    hardwareProfile: flags.hardwareProfile,
    logLevel: flags.logLevel,
  }
  // A non-integer is passed through as NaN so validation reports it with the other problems.
  if (flags.threads !== undefined) input.threads = /^\d+$/.test(flags.threads) ? Number(flags.threads) : NaN
  return input
}

/** Starts the agent from parsed flags and resolves once it has stopped after SIGINT/SIGTERM. */
export async function runAgentFromFlags(flags: CliFlags, env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = await resolveAgentConfig({ configFile: flags.config, env, flags: flagsToInput(flags) })
  const agent = await startAgent(config)
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.stderr.write(`fleetnas-agent: ${signal}, stopping\n`)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  await agent.stop()
}

/** The command; mount it elsewhere with `program.command('agent').addCommand(agentCommand('start'))`. */
export function agentCommand(name = 'fleetnas-agent'): Command {
  const cmd = new Command(name).description('run the fleetnas device agent: measure block latency and report over MQTT')
  for (const o of AGENT_OPTIONS) cmd.addOption(new Option(o.flags, o.description))
  cmd.action(async (flags: CliFlags) => {
    await runAgentFromFlags(flags)
  })
  return cmd
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const cmd = agentCommand().version(AGENT_VERSION)
  try {
    await cmd.parseAsync(argv)
  } catch (e) {
    const code = isFleetnasError(e) ? ` [${e.code}]` : ''
    process.stderr.write(`fleetnas-agent: ${(e as Error).message}${code}\n`)
    process.exitCode = exitCodeFor(e)
  }
}
