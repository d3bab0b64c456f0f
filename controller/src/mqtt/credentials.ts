/**
 * Per-device MQTT secrets: generated once, returned once, stored only as a scrypt hash
 * (`scrypt$N$r$p$salt$hash`, base64url) so a leaked database does not leak device credentials.
 */
import crypto from 'node:crypto'

const N = 16384
const R = 8
const P = 1
const KEY_LEN = 32

export function generateSecret(): string {
  return crypto.randomBytes(24).toString('base64url')
}

export function hashSecret(secret: string): string {
  const salt = crypto.randomBytes(16)
  const hash = crypto.scryptSync(secret, salt, KEY_LEN, { N, r: R, p: P })
  return ['scrypt', N, R, P, salt.toString('base64url'), hash.toString('base64url')].join('$')
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const actual = await new Promise<Buffer>((resolve, reject) =>
    crypto.scrypt(secret, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
  return crypto.timingSafeEqual(actual, expected)
}

/** Constant-time string comparison for tokens and internal passwords. */
export function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest()
  const y = crypto.createHash('sha256').update(b).digest()
  return crypto.timingSafeEqual(x, y)
}
