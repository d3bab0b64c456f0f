/** The agent's version, from its package.json (reported in status and info messages). */
import { readFileSync } from 'node:fs'
import { AGENT_PACKAGE_JSON } from './paths.ts'

export const AGENT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(AGENT_PACKAGE_JSON, 'utf8')) as { version: string }).version
  } catch {
    return '0.0.0'
  }
})()
