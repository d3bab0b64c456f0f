import t from 'tap'
import { FleetnasError, InvalidSpec, defineError, isFleetnasError } from './errors.ts'

t.test('defineError makes coded errors', async (t) => {
  const NotFound = defineError('FLEETNAS_ERR_TEST_NOT_FOUND', 404, (what: string, id: number) => `no ${what} ${id}`)
  t.equal(NotFound.code, 'FLEETNAS_ERR_TEST_NOT_FOUND')
  const e = NotFound('device', 7)
  t.ok(e instanceof FleetnasError)
  t.ok(e instanceof Error)
  t.equal(e.name, 'FleetnasError')
  t.equal(e.code, NotFound.code)
  t.equal(e.statusCode, 404)
  t.equal(e.message, 'no device 7')
  t.ok(e.stack)
  t.throws(() => {
    throw NotFound('job', 1)
  }, { code: 'FLEETNAS_ERR_TEST_NOT_FOUND', statusCode: 404 })
})

t.test('FleetnasError defaults and details', async (t) => {
  const e = new FleetnasError('FLEETNAS_ERR_X_Y', 'boom')
  t.equal(e.statusCode, 500)
  t.equal(e.details, undefined)
  t.same(new FleetnasError('FLEETNAS_ERR_X_Y', 'm', 409, { id: 1 }).details, { id: 1 })
})

t.test('isFleetnasError narrows by class and code', async (t) => {
  const e = InvalidSpec('kernel 4')
  t.ok(isFleetnasError(e))
  t.ok(isFleetnasError(e, 'FLEETNAS_ERR_SPEC_INVALID'))
  t.ok(isFleetnasError(e, InvalidSpec.code))
  t.notOk(isFleetnasError(e, 'FLEETNAS_ERR_OTHER'))
  t.notOk(isFleetnasError(new Error('x')))
  t.notOk(isFleetnasError({ code: 'FLEETNAS_ERR_SPEC_INVALID' }))
  t.notOk(isFleetnasError(undefined))
  t.equal(e.statusCode, 400)
  t.equal(e.message, 'invalid specification: kernel 4')
})
