/**
 * Which code a benchmark measured: a short hash and the last change time of the files that decide
 * the figures (the agent's measuring loop may be edited between runs; a log must say which one ran).
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface FileVersion {
  path: string
  sha1: string
  modified: string
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))

export const MEASURING_FILES = ['agent/src/measure.ts', 'agent/src/stats.ts', 'agent/src/runners/onnxruntime-runner.ts', 'shared/src/protocol/messages.ts']

export function fileVersions(paths: readonly string[] = MEASURING_FILES): FileVersion[] {
  return paths.map((path) => {
    const full = REPO + path
    return {
      path,
      sha1: createHash('sha1').update(readFileSync(full)).digest('hex').slice(0, 10),
      modified: statSync(full).mtime.toISOString(),
    }
  })
}

export const renderVersions = (vs: readonly FileVersion[]) => vs.map((v) => `${v.path} ${v.sha1} (${v.modified.slice(0, 19)}Z)`).join(', ')
