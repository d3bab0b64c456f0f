/**
 * One error handler for the API: every failure answers `{statusCode, code, error, message}`.
 * Catalogue errors keep their code; schema failures are FLEETNAS_ERR_HTTP_VALIDATION naming the
 * field; fastify's own client errors get an HTTP-area code; anything else is a logged 500.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isFleetnasError } from '@fleetnas/shared'
import { HttpBadRequest, HttpMediaType, HttpNotFound, HttpTooLarge, HttpUriTooLong, HttpValidation, Internal } from '../errors.ts'

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}

interface AjvIssue {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

/** "body/targets/devices/0: must match pattern ..." — the field first, so a user can find it. */
export function describeValidation(context: string | undefined, issues: AjvIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const at = `${context ?? 'request'}${i.instancePath}`
      if (i.keyword === 'required') return `${at}/${String(i.params.missingProperty)} is required`
      if (i.keyword === 'additionalProperties') return `${at}/${String(i.params.additionalProperty)} is not allowed`
      return `${at}: ${i.message ?? 'is invalid'}`
    })
    .join('; ')
}

const body = (statusCode: number, code: string, message: string): ErrorBody => ({
  statusCode,
  code,
  error: STATUS_CODES[statusCode] ?? 'Error',
  message,
})

const FASTIFY_CLIENT_ERRORS: Record<number, (why: string) => { code: string; message: string }> = {
  413: HttpTooLarge,
  414: HttpUriTooLong,
  415: HttpMediaType,
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isFleetnasError(err)) return reply.code(err.statusCode).send(body(err.statusCode, err.code, err.message))
    if (err.validation) {
      const e = HttpValidation(describeValidation(err.validationContext, err.validation as AjvIssue[]))
      return reply.code(400).send(body(400, e.code, e.message))
    }
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const e = (FASTIFY_CLIENT_ERRORS[status] ?? HttpBadRequest)(err.message)
      return reply.code(status).send(body(status, e.code, e.message))
    }
    req.log.error({ err }, 'request failed')
    const e = Internal()
    return reply.code(500).send(body(500, e.code, e.message))
  })
  app.setNotFoundHandler((req, reply) => {
    const e = HttpNotFound(req.method, req.url)
    return reply.code(404).send(body(404, e.code, e.message))
  })
}

/**
 * The router's own errors (a malformed percent-encoding, a path parameter over maxParamLength) never
 * reach setErrorHandler; fastify hands them to the `frameworkErrors` option, which is this.
 */
export function frameworkErrorHandler(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400
  const e = (FASTIFY_CLIENT_ERRORS[status] ?? HttpBadRequest)(err.message)
  void reply.code(status).send(body(status, e.code, e.message))
}
