/**
 * Files the agent finds beside its code: its package.json, the measurement worker's entry and the
 * hardware profiles. Every path is resolved from this module, which sits one folder below agent/
 * both in a checkout (agent/src/paths.ts, run through tsx) and in a device bundle (agent/dist/*.js,
 * compiled by esbuild into flat chunks), so the same lines find the same files in both layouts.
 */
import { fileURLToPath } from 'node:url'

const AGENT_DIR = new URL('../', import.meta.url)

/** agent/package.json (the agent's version). */
export const AGENT_PACKAGE_JSON = new URL('package.json', AGENT_DIR)
/** The script the daemon forks for each measurement (bin/measure-worker.js). */
export const WORKER_ENTRY = fileURLToPath(new URL('bin/measure-worker.js', AGENT_DIR))
/** The hardware-profiles folder beside agent/ (the repository's, or the bundle's copy). */
export const DEFAULT_PROFILES_DIR = fileURLToPath(new URL('../hardware-profiles/', AGENT_DIR))
