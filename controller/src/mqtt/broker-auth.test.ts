import t from 'tap'
import mqtt from 'mqtt'
import { topics } from '@fleetnas/shared'
import { api, startTestController, waitFor } from '../testing/harness.ts'
import { startFakeAgent } from '../testing/fake-agent.ts'

t.test('embedded broker: per-device credentials and the shared ACL', async (t) => {
  const ctl = await startTestController(t, { insecure: false, apiToken: 'token-for-test-1' })
  t.equal(ctl.deviceAuth, true)

  // No credentials provisioned: refused.
  await t.rejects(mqtt.connectAsync(ctl.mqttUrl, { username: 'pi-1', password: 'guess', reconnectPeriod: 0 }))
  const bad = await api(ctl, 'POST', '/v1/devices/fleetnas-controller/credentials')
  t.equal(bad.json.code, 'FLEETNAS_ERR_DEVICE_ID_INVALID', 'the controller identity is reserved')

  const cred = await api(ctl, 'POST', '/v1/devices/pi-1/credentials')
  t.equal(cred.status, 201)
  t.match(cred.json, { deviceId: 'pi-1', username: 'pi-1', mqttUrl: ctl.mqttUrl, brokerChecksSecret: true })
  t.notOk(JSON.stringify(ctl.store.db.prepare('SELECT secret_hash FROM devices').all()).includes(cred.json.secret), 'only a hash is stored')
  await t.rejects(mqtt.connectAsync(ctl.mqttUrl, { username: 'pi-1', password: 'wrong', reconnectPeriod: 0 }), 'wrong secret refused')

  const agent = await startFakeAgent({ url: ctl.mqttUrl, deviceId: 'pi-1', username: 'pi-1', password: cred.json.secret })
  t.teardown(() => agent.stop())
  await waitFor('device online through the authenticated broker', () => ctl.store.devices.get('pi-1')?.status === 'online')

  // Another device's topics: publish refused (aedes closes the connection), subscribe refused.
  await t.rejects(agent.client.subscribeAsync(topics.jobs('pi-2'), { qos: 1 }), 'subscription to another device refused (SUBACK 128)')
  const sneaky = await mqtt.connectAsync(ctl.mqttUrl, { username: 'pi-1', password: cred.json.secret, clientId: 'sneaky', reconnectPeriod: 0 })
  t.teardown(() => sneaky.endAsync(true))
  sneaky.publish(topics.status('pi-2'), JSON.stringify({ v: 1, deviceId: 'pi-2', state: 'online', agentVersion: 'x', time: new Date().toISOString() }), { qos: 1, retain: true })
  const metrics = await waitFor('refusals counted', async () => {
    const text = (await api(ctl, 'GET', '/metrics')).body
    return text.includes('fleetnas_mqtt_refused_total{action="publish"} 1') && text
  })
  t.match(metrics, /fleetnas_mqtt_refused_total\{action="subscribe"\} 1/)
  t.match(metrics, /fleetnas_mqtt_refused_total\{action="connect"\} 2/)
  t.equal(ctl.store.devices.get('pi-2'), undefined, 'the forged status never arrived')
})
