/**
 * One-time login links for the dashboard: a random code that the browser trades once for the API
 * token (POST /dashboard/login). Codes live in memory only, expire, and are forgotten when used,
 * so a link printed in a terminal or pasted in a chat is worth nothing once it has been opened.
 */
import crypto from 'node:crypto'

export const LOGIN_LINK_TTL_MS = 15 * 60_000
const MAX_OUTSTANDING = 100

export class LoginLinks {
  private readonly codes = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** A new code and when it expires (ms since the epoch). */
  issue(ttlMs = LOGIN_LINK_TTL_MS): { code: string; expiresAt: number } {
    this.prune()
    // Bounded: the oldest outstanding code gives way (Map keeps insertion order).
    while (this.codes.size >= MAX_OUTSTANDING) this.codes.delete(this.codes.keys().next().value!)
    const code = crypto.randomBytes(24).toString('base64url')
    const expiresAt = this.now() + ttlMs
    this.codes.set(code, expiresAt)
    return { code, expiresAt }
  }

  /** True once for a live code; false for an unknown, used or expired one. */
  redeem(code: string): boolean {
    const expiresAt = this.codes.get(code)
    if (expiresAt === undefined) return false
    this.codes.delete(code)
    return expiresAt > this.now()
  }

  private prune(): void {
    const now = this.now()
    for (const [code, expiresAt] of this.codes) if (expiresAt <= now) this.codes.delete(code)
  }
}
