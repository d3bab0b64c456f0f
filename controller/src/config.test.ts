import path from 'node:path'
import t from 'tap'
import { isFleetnasError } from '@fleetnas/shared'
import { resolveControllerConfig } from './config.ts'

t.test('defaults', async (t) => {
  const c = resolveControllerConfig({}, {})
  t.match(c, { host: '127.0.0.1', httpPort: 8080, mqttPort: 1883, insecure: false, logLevel: 'info', campaignDefaults: { maxRetries: 2 } })
  t.equal(c.dataDir, path.resolve('data'))
  t.equal(c.apiToken, undefined)
  t.equal(c.broker, undefined)
})

t.test('the token comes from FLEETNAS_API_TOKEN when not written', async (t) => {
  t.equal(resolveControllerConfig({}, { FLEETNAS_API_TOKEN: 'from-env-123' }).apiToken, 'from-env-123')
  t.equal(resolveControllerConfig({ apiToken: 'written-1234' }, { FLEETNAS_API_TOKEN: 'from-env-123' }).apiToken, 'written-1234')
})

t.test('every problem is reported at once', async (t) => {
  try {
    resolveControllerConfig({ httpPort: 70000, logLevel: 'loud', bogus: 1, broker: 'http://x' } as never, {})
    t.fail('should throw')
  } catch (e) {
    t.ok(isFleetnasError(e, 'FLEETNAS_ERR_CONFIG_INVALID'))
    const msg = (e as Error).message
    for (const field of ['/httpPort', '/logLevel', 'bogus', '/broker']) t.match(msg, field)
  }
  t.throws(() => resolveControllerConfig({ insecure: true, apiToken: 'abcdefgh1' }, {}), { code: 'FLEETNAS_ERR_CONFIG_INVALID' })
  t.throws(() => resolveControllerConfig({ brokerUsername: 'u' }, {}), { code: 'FLEETNAS_ERR_CONFIG_INVALID' })
})
