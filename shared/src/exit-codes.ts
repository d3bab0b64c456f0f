/**
 * The one map from errors to process exit codes, for every fleetnas command (`fleetnas`,
 * `fleetnas-agent`, `fleetnas agent start`): commands throw catalogue errors; their entry points map.
 *   0 ok, 1 unexpected failure, 2 usage / invalid input or configuration, 3 not found,
 *   4 unreachable service, 5 unauthorised, 130 interrupted.
 */
import { FleetnasError } from './errors.ts'

export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, unreachable: 4, unauthorized: 5, interrupted: 130 } as const

export function exitCodeFor(e: unknown): number {
  if (e instanceof FleetnasError) {
    if (e.statusCode === 503) return EXIT.unreachable
    if (e.statusCode === 401 || e.statusCode === 403) return EXIT.unauthorized
    if (e.statusCode === 404) return EXIT.notFound
    if (e.statusCode >= 400 && e.statusCode < 500) return EXIT.usage
  }
  if ((e as { code?: string })?.code?.startsWith?.('commander.')) return EXIT.usage
  return EXIT.failure
}

export function messageFor(e: unknown): string {
  if (e instanceof FleetnasError) return `error ${e.code}: ${e.message}`
  if (e instanceof Error) return `error: ${e.message}`
  return `error: ${String(e)}`
}
