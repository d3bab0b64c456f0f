/**
 * The deployment path end to end, minus systemd: install-agent.sh writes agent.json for a device
 * (into a temporary root), the real agent process starts from exactly that file (as the unit's
 * ExecStart does) against a real mosquitto running the shipped config and ACL, and the controller
 * sees its retained online status and its inventory; when the agent dies without saying goodbye
 * the broker publishes its Last Will (offline), which the ACL must allow on the device's own topic.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { controllerSubscriptions, decodeMessage, parseTopic, topics, type MessageOf } from '@fleetnas/shared'
import { mosquittoSkipReason, startMosquitto } from './helpers/mosquitto.ts'
import { spawnAgent } from './helpers/fleet.ts'

const SCRIPT = fileURLToPath(new URL('../deploy/install-agent.sh', import.meta.url))
const DEVICE = 'pi-test-01'
const USERS = { 'fleetnas-controller': 'controller-secret', [DEVICE]: 'device-secret' }

function install(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('bash', [SCRIPT, ...args], (err, _stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr })),
  )
}

t.test('installed config -> agent -> mosquitto ACL -> controller', { skip: mosquittoSkipReason() }, async (t) => {
  const dir = t.testdir({ root: {}, state: {} })
  const broker = await startMosquitto({ users: USERS })
  t.teardown(broker.stop)

  const installed = await install([
    '--root', path.join(dir, 'root'), '--skip-npm', '--node', process.execPath,
    '--broker', broker.url, '--device-id', DEVICE, '--password', USERS[DEVICE],
    '--hardware-profile', 'generic', '--threads', '1', '--log-level', 'warn',
  ])
  t.equal(installed.code, 0, installed.stderr)

  const controller = await mqtt.connectAsync(broker.url, { username: 'fleetnas-controller', password: USERS['fleetnas-controller'], reconnectPeriod: 0 })
  t.teardown(() => controller.endAsync())
  await controller.subscribeAsync(controllerSubscriptions, { qos: 1 })
  const seen = <K extends 'status' | 'info'>(kind: K, accept: (value: MessageOf[K]) => boolean) =>
    new Promise<MessageOf[K]>((resolve) => {
      const onMessage = (topic: string, payload: Buffer) => {
        const parsed = parseTopic(topic)
        if (parsed?.kind !== kind || parsed.deviceId !== DEVICE) return
        const decoded = decodeMessage(kind, payload)
        if (!decoded.ok || !accept(decoded.value)) return
        controller.off('message', onMessage)
        resolve(decoded.value)
      }
      controller.on('message', onMessage)
    })

  const online = seen('status', (s) => s.state === 'online')
  const info = seen('info', () => true)
  // The state dir of the config (/var/lib/fleetnas) is the system's; the env override points it here.
  const agent = spawnAgent(['--config', path.join(dir, 'root/etc/fleetnas/agent.json')], { FLEETNAS_STATE_DIR: path.join(dir, 'state') })
  t.teardown(() => agent.stop('SIGKILL'))
  const exited = new Promise<string>((resolve) => agent.child.once('exit', (code) => resolve(`agent exited (${code}):\n${agent.output()}`)))
  const first = await Promise.race([online.then(() => 'online'), exited])
  t.equal(first, 'online', 'the agent came online with the installed config')
  const inventory = await info
  t.equal(inventory.deviceId, DEVICE, 'inventory from the installed device id')
  t.equal(inventory.hardwareProfile, 'generic', 'hardware profile from the installed config')
  t.equal(inventory.threads, 1, 'threads from the installed config')

  // No clean disconnect: the broker sends the Last Will, retained, on the device's status topic.
  const offline = seen('status', (s) => s.state === 'offline')
  await agent.stop('SIGKILL')
  const will = await offline
  t.equal(will.deviceId, DEVICE, 'Last Will delivered through the ACL')

  const late = await mqtt.connectAsync(broker.url, { username: 'fleetnas-controller', password: USERS['fleetnas-controller'], reconnectPeriod: 0 })
  t.teardown(() => late.endAsync())
  const retained = new Promise<string>((resolve) => late.once('message', (_topic, p) => resolve(p.toString())))
  await late.subscribeAsync(topics.status(DEVICE), { qos: 1 })
  t.match(JSON.parse(await retained), { deviceId: DEVICE, state: 'offline' }, 'a controller arriving later reads the retained offline status')
})
