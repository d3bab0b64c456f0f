/**
 * Where the agent package is, for the two commands that run an agent (`fleetnas agent start` and
 * `fleetnas demo`). The controller does not depend on the agent (it is an optional peer): installing
 * the controller alone does not pull the agent's runtimes (tfjs, systeminformation, tfjs-node).
 * In a clone npm's workspaces link it, so both commands work there; elsewhere they say how to
 * install it instead of failing on a missing module.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { defineError } from '@fleetnas/shared'

export const AgentNotInstalled = defineError(
  'FLEETNAS_ERR_AGENT_NOT_INSTALLED',
  404,
  (command: string) =>
    `${command} runs the fleetnas agent, and the @fleetnas/agent package is not installed here. ` +
    'In a checkout, `npm ci` at its root installs it (`npm ci -w @fleetnas/agent` for the agent alone); ' +
    'on a device, install the agent bundle (deploy/README.md) and run fleetnas-agent.',
)

export interface AgentPackage {
  /** The package's main module (its `agentCommand`, `startAgent`, ...). */
  entry: string
  /** The `fleetnas-agent` executable script. */
  bin: string
}

/** Finds the agent package as seen from `from` (this module), or throws AgentNotInstalled naming `command`. */
export function locateAgent(command: string, from: string | URL = import.meta.url): AgentPackage {
  let entry: string
  try {
    entry = createRequire(from).resolve('@fleetnas/agent')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw AgentNotInstalled(command)
    throw e
  }
  // The entry sits somewhere below the package root; the root's manifest names the executable.
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    let manifest: { name?: string; bin?: Record<string, string> }
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    } catch {
      continue
    }
    if (manifest.name !== '@fleetnas/agent') continue
    const bin = manifest.bin?.['fleetnas-agent']
    if (bin) return { entry, bin: join(dir, bin) }
    break
  }
  throw AgentNotInstalled(command)
}
