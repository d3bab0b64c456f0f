/**
 * Request validation: fastify's own ajv compiler (its defaults, formats and shared schemas), built
 * twice. Query strings, path parameters and headers arrive as text, so they are coerced to their
 * schema's types (`?threads=1`). A JSON body carries its own types and is validated as sent: with
 * coercion `"sample": "5"` became 5, `null` became 0 and `"threads": "2"` became [2], so a client's
 * type mistake was silently turned into something else instead of a 400 naming the field.
 */
import AjvCompiler from '@fastify/ajv-compiler'

/** A `schemaController.compilersFactory.buildValidator` for fastify; one per server (its own ajv pool). */
export function validatorWithoutBodyCoercion(): AjvCompiler.ValidatorFactory {
  const pool = AjvCompiler()
  return (externalSchemas, options) => {
    const ajv = options ?? {}
    const fromText = pool(externalSchemas, ajv)
    const asSent = pool(externalSchemas, { ...ajv, customOptions: { ...ajv.customOptions, coerceTypes: false } } as typeof ajv)
    return (route) => (route.httpPart === 'body' ? asSent : fromText)(route)
  }
}
