/**
 * deploy/mosquitto/tls.conf on a real mosquitto with certificates made by openssl the way the
 * file's recipe says: an agent that pins the CA (agent.json tls.ca) connects over mqtts and is
 * still bound by the ACL; one that does not trust the CA is refused; with require_certificate a
 * client certificate signed by the CA is needed.
 */
import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { controllerSubscriptions, topics } from '@fleetnas/shared'
import { mosquittoSkipReason, startMosquitto } from './helpers/mosquitto.ts'

const execFileP = promisify(execFile)
const USERS = { 'fleetnas-controller': 'controller-secret', 'dev-a': 'secret-a' }

const opensslMissing = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return false
  } catch {
    return 'openssl not installed'
  }
})()
const skip = mosquittoSkipReason() || opensslMissing

/** A private CA, a server certificate for localhost and a client certificate for dev-a. */
async function makeCertificates(dir: string) {
  const f = (name: string) => path.join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await execFileP('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=fleetnas test CA', '-keyout', f('ca.key'), '-out', f('ca.crt')])
  const sign = async (name: string, subject: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), `${ext}\n`)
    await execFileP('openssl', ['req', '-new', ...ec, '-subj', subject, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)])
    await execFileP('openssl', ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`)])
  }
  await sign('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1')
  await sign('client', '/CN=dev-a', 'extendedKeyUsage=clientAuth')
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') }
}

t.test('TLS listener from deploy/mosquitto/tls.conf', { skip }, async (t) => {
  const certs = await makeCertificates(t.testdir())
  const broker = await startMosquitto({ users: USERS, tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey } })
  t.teardown(broker.stop)
  const tlsUrl = broker.tlsUrl!

  const controller = await mqtt.connectAsync(broker.url, { username: 'fleetnas-controller', password: USERS['fleetnas-controller'], reconnectPeriod: 0 })
  t.teardown(() => controller.endAsync())
  await controller.subscribeAsync(controllerSubscriptions, { qos: 1 })

  // What the agent does with agent.json {tls: {ca}}: pin the private CA.
  const device = await mqtt.connectAsync(tlsUrl, { username: 'dev-a', password: USERS['dev-a'], ca: readFileSync(certs.ca), reconnectPeriod: 0 })
  t.teardown(() => device.endAsync())
  const received: string[] = []
  controller.on('message', (_topic, payload) => received.push(payload.toString()))
  const marker = new Promise<void>((resolve) => controller.on('message', (_topic, p) => p.toString() === 'over-tls' && resolve()))
  await device.publishAsync(topics.results('dev-b'), 'forged-over-tls', { qos: 1 })
  await device.publishAsync(topics.results('dev-a'), 'over-tls', { qos: 1 })
  await marker
  t.same(received, ['over-tls'], "own results delivered across listeners, the other device's dropped (the ACL is global)")

  await t.rejects(
    mqtt.connectAsync(tlsUrl, { username: 'dev-a', password: USERS['dev-a'], reconnectPeriod: 0 }),
    { code: 'SELF_SIGNED_CERT_IN_CHAIN' },
    'a client that does not trust the fleet CA is refused',
  )
  await t.rejects(
    mqtt.connectAsync(tlsUrl, { username: 'dev-a', password: 'wrong', ca: readFileSync(certs.ca), reconnectPeriod: 0 }),
    { code: 5 },
    'the password is still checked over TLS',
  )
})

t.test('require_certificate: mutual TLS', { skip }, async (t) => {
  const certs = await makeCertificates(t.testdir())
  const broker = await startMosquitto({
    users: USERS,
    tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, requireCertificate: true },
  })
  t.teardown(broker.stop)
  const base = { username: 'dev-a', password: USERS['dev-a'], ca: readFileSync(certs.ca), reconnectPeriod: 0 }

  await t.rejects(mqtt.connectAsync(broker.tlsUrl!, base), /certificate required/, 'no client certificate: refused by a TLS alert')
  const device = await mqtt.connectAsync(broker.tlsUrl!, { ...base, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) })
  t.ok(device.connected, 'client certificate signed by the fleet CA: accepted')
  await device.endAsync()
})
