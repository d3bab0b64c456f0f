/**
 * What a job asks to measure: its block and architecture targets (parsed from their keys), and why
 * a job cannot be run at all. Pure; used by the daemon (validation, progress totals) and by the
 * measurement worker (the targets it measures).
 */
import { parseArchitectureId, parseBlockKey, type JobMessage } from '@fleetnas/shared'
import type { MeasureTarget } from './runners/runner.ts'

/** Why a job message cannot be run, or undefined. */
export function jobProblems(job: JobMessage): string | undefined {
  const bad: string[] = []
  for (const key of job.blocks) {
    try {
      parseBlockKey(key)
    } catch (e) {
      bad.push((e as Error).message)
    }
  }
  for (const id of job.architectures ?? []) {
    try {
      parseArchitectureId(id)
    } catch (e) {
      bad.push((e as Error).message)
    }
  }
  if (bad.length === 0) return undefined
  return `${bad.length} invalid target(s): ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? '; ...' : ''}`
}

/** Block and architecture targets of a job, without those in `skip`. */
export function jobTargets(job: JobMessage, skip: ReadonlySet<string>): { targets: MeasureTarget[]; total: number } {
  const targets: MeasureTarget[] = []
  const blocks = [...new Set(job.blocks)]
  const archs = [...new Set(job.architectures ?? [])]
  for (const key of blocks) if (!skip.has(key)) targets.push({ kind: 'block', key, spec: parseBlockKey(key) })
  for (const id of archs) if (!skip.has(id)) targets.push({ kind: 'architecture', key: id, arch: parseArchitectureId(id) })
  return { targets, total: blocks.length + archs.length }
}
