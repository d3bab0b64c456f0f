/**
 * Every fleetnas error is a value with a code (`FLEETNAS_ERR_<AREA>_<WHAT>`), an HTTP status and a
 * message a user can act on. Packages define their own codes with `defineError`; tests assert codes.
 */
export class FleetnasError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details?: unknown

  constructor(code: string, message: string, statusCode = 500, details?: unknown) {
    super(message)
    this.name = 'FleetnasError'
    this.code = code
    this.statusCode = statusCode
    this.details = details
  }
}

export interface ErrorFactory<A extends unknown[]> {
  (...args: A): FleetnasError
  readonly code: string
}

/** Makes a factory for one catalogue entry: `const NotFound = defineError('X', 404, (id) => ...)`. */
export function defineError<A extends unknown[]>(
  code: string,
  statusCode: number,
  message: (...args: A) => string,
): ErrorFactory<A> {
  const make = (...args: A) => new FleetnasError(code, message(...args), statusCode)
  return Object.assign(make, { code })
}

export function isFleetnasError(e: unknown, code?: string): e is FleetnasError {
  return e instanceof FleetnasError && (code === undefined || e.code === code)
}

export const InvalidSpec = defineError(
  'FLEETNAS_ERR_SPEC_INVALID',
  400,
  (what: string) => `invalid specification: ${what}`,
)
