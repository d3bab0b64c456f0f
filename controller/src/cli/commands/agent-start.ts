/** `fleetnas agent start`: the agent's own command (same flags as `fleetnas-agent`), mounted here. */
export async function runAgentCli(args: string[]): Promise<void> {
  const { agentCommand } = await import('@fleetnas/agent')
  await agentCommand('fleetnas agent start').parseAsync(args, { from: 'user' })
}
