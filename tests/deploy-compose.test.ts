/**
 * deploy/docker-compose.yml has no docker engine to run it here, so this checks what can go wrong
 * without one: it parses, every bind-mounted file ships in deploy/ (or is a secret the README says
 * to create), the controller reaches the broker by its service name with the env names that
 * `fleetnas controller start` reads, and no secret is written into the file.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url))
// Made by the operator (see the compose file's header and deploy/README.md), never shipped.
const OPERATOR_FILES = new Set(['./mosquitto/fleetnas.passwd', './mosquitto/certs', './mosquitto/certs/ca.crt'])

interface Service {
  image?: string
  build?: { context: string; dockerfile: string }
  command?: string[]
  ports?: string[]
  volumes?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
}

const compose = parse(readFileSync(path.join(DEPLOY, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

t.test('docker-compose.yml: controller + mosquitto', async (t) => {
  t.same(Object.keys(compose.services).sort(), ['controller', 'mosquitto'])
  const { mosquitto, controller } = compose.services

  t.match(mosquitto.image, /^eclipse-mosquitto:2/, 'mosquitto 2.x image')
  t.ok(mosquitto.command?.join(' ').includes('mosquitto -c /etc/mosquitto/mosquitto.conf'), 'runs the shipped config')
  t.same(mosquitto.ports, ['8883:8883'], 'only the TLS listener is published')

  for (const service of [mosquitto, controller]) {
    for (const volume of service.volumes ?? []) {
      const [source, target] = volume.split(':')
      if (!source.startsWith('.')) {
        t.ok(source in compose.volumes, `named volume ${source} is declared`)
        continue
      }
      if (OPERATOR_FILES.has(source)) continue
      t.ok(existsSync(path.join(DEPLOY, source)), `${source} (-> ${target}) ships in deploy/`)
    }
  }
  const mounts = Object.fromEntries((mosquitto.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]]))
  // The mount targets are the paths that mosquitto.conf names.
  const conf = readFileSync(path.join(DEPLOY, 'mosquitto/mosquitto.conf'), 'utf8')
  for (const key of ['password_file', 'acl_file']) {
    const target = conf.match(new RegExp(`^${key} (\\S+)$`, 'm'))?.[1]
    t.ok(target && mounts[target], `${key} ${target} is mounted`)
  }
  t.equal(mounts['/etc/mosquitto/fleetnas.acl'], './mosquitto/acl', 'the shipped ACL is the one enforced')
  t.equal(mounts['/var/lib/mosquitto'], 'mosquitto-data', 'broker persistence on a named volume')

  t.same(controller.build, { context: '..', dockerfile: 'deploy/Dockerfile.controller' })
  t.ok(existsSync(path.join(DEPLOY, 'Dockerfile.controller')), 'Dockerfile ships')
  t.equal(controller.depends_on?.mosquitto?.condition, 'service_healthy', 'controller waits for a healthy broker')
  const env = controller.environment ?? {}
  t.equal(env.FLEETNAS_BROKER, 'mqtts://mosquitto:8883', 'broker by service name, over TLS')
  t.equal(env.FLEETNAS_BROKER_USERNAME, 'fleetnas-controller', 'the username the ACL grants fleetnas/v1/#')
  for (const secret of ['FLEETNAS_BROKER_PASSWORD', 'FLEETNAS_API_TOKEN'])
    t.match(env[secret], /^\$\{[A-Z_]+:\?.+\}$/, `${secret} comes from the environment and is required`)
  t.ok(controller.ports?.includes('8080:8080'), 'HTTP API published')
  // Every FLEETNAS_* name must be one that `fleetnas controller start` reads.
  const cli = readFileSync(path.join(DEPLOY, '../controller/src/cli/main.ts'), 'utf8')
  for (const name of Object.keys(env).filter((n) => n.startsWith('FLEETNAS_')))
    t.ok(cli.includes(`.env('${name}')`), `${name} is read by the controller CLI`)
})
