/** Bearer-token check for /v1 routes (when the controller has a token). */
import type { FastifyRequest } from 'fastify'
import { AuthRequired } from '../errors.ts'
import { sameSecret } from '../mqtt/credentials.ts'

export function bearerAuth(token: string | undefined) {
  return async (req: FastifyRequest) => {
    if (token === undefined) return
    const header = req.headers.authorization ?? ''
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!m || !sameSecret(m[1], token)) throw AuthRequired()
  }
}
