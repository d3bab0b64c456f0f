/**
 * `fleetnas agent start`: the agent's own command (same flags as `fleetnas-agent`), mounted here
 * when the agent package is installed. Its errors reach the one exit-code map like any command's,
 * so the exit codes are `fleetnas-agent`'s.
 */
import { pathToFileURL } from 'node:url'
import { locateAgent } from '../agent-package.ts'

export async function runAgentCli(args: string[]): Promise<void> {
  const { entry } = locateAgent('`fleetnas agent start`')
  const { agentCommand } = (await import(pathToFileURL(entry).href)) as typeof import('@fleetnas/agent')
  await agentCommand('fleetnas agent start').parseAsync(args, { from: 'user' })
}
