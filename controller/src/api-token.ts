/**
 * The API token when none is configured and insecure mode is off: made once, kept in
 * `<dataDir>/api-token` (mode 0600) so restarts keep it, and logged when it is made.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Logger } from 'pino'

export const API_TOKEN_FILE = 'api-token'

export function loadOrCreateApiToken(dataDir: string, log: Logger): string {
  const file = path.join(dataDir, API_TOKEN_FILE)
  try {
    const existing = fs.readFileSync(file, 'utf8').trim()
    if (existing.length >= 8) {
      log.info({ file }, 'API token read from file')
      return existing
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  const token = crypto.randomBytes(24).toString('base64url')
  fs.mkdirSync(dataDir, { recursive: true })
  fs.writeFileSync(file, token + '\n', { mode: 0o600 })
  log.warn({ file, token }, `no apiToken configured: generated one, written to ${file}; send it as "Authorization: Bearer ${token}"`)
  return token
}
