/**
 * deploy/install-agent.sh, run for real into a temporary root (--root: no useradd, chown or
 * systemctl; --skip-npm: no dependency download): the config the agent will read, the installed
 * code and unit, idempotent re-runs, --force, argument errors reported all at once, --dry-run,
 * and `systemd-analyze verify` of both shipped units where systemd-analyze exists.
 */
import t, { type Test } from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { readFile, stat, writeFile, copyFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkConfigInput, readConfigFile } from '@fleetnas/agent/config'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = path.join(REPO, 'deploy', 'install-agent.sh')
const NODE = process.execPath

interface RunResult {
  code: number
  stdout: string
  stderr: string
}

function install(args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile('bash', [SCRIPT, ...args], { env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
    if (input !== undefined) child.stdin?.end(input)
    else child.stdin?.end()
  })
}

/** tap's t.testdir() is one folder per test (a second call wipes it): hand out subfolders. */
function folders(t: Test) {
  const top = t.testdir()
  let n = 0
  return (files: Record<string, string> = {}) => {
    const dir = path.join(top, String(n++))
    mkdirSync(dir)
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
    return dir
  }
}

const base = (root: string) => ['--root', root, '--skip-npm', '--node', NODE]
const configAt = (root: string) => path.join(root, 'etc/fleetnas/agent.json')
const unitAt = (root: string) => path.join(root, 'etc/systemd/system/fleetnas-agent.service')

t.test('fresh install into a root writes the agent config, code and unit', async (t) => {
  const dir = folders(t)
  const root = dir()
  const r = await install([
    ...base(root),
    '--broker', 'mqtt://broker.lan:1883',
    '--device-id', 'pi4-lab-01',
    '--password', 'p@ss "quoted" $HOME',
    '--threads', '4',
    '--hardware-profile', 'raspberry-pi-4b',
  ])
  t.equal(r.code, 0, `exit 0; stderr: ${r.stderr}`)
  t.match(r.stdout, /skipped under --root: useradd --system .* fleetnas/, 'user creation skipped under --root, but named')
  t.match(r.stdout, /skipped under --root: systemctl enable --now fleetnas-agent/, 'start skipped under --root, but named')

  const file = configAt(root)
  t.same(JSON.parse(await readFile(file, 'utf8')), {
    broker: 'mqtt://broker.lan:1883',
    deviceId: 'pi4-lab-01',
    username: 'pi4-lab-01',
    password: 'p@ss "quoted" $HOME',
    stateDir: '/var/lib/fleetnas',
    hardwareProfile: 'raspberry-pi-4b',
    threads: 4,
    logLevel: 'info',
  }, 'config fields, the password kept byte for byte')
  t.equal((await stat(file)).mode & 0o777, 0o600, 'config mode 0600 (it holds the password)')
  t.equal((await stat(path.dirname(file))).mode & 0o777, 0o750, '/etc/fleetnas mode 0750')
  // The agent's own loader accepts what the installer wrote.
  const parsed = await readConfigFile(file)
  t.same(checkConfigInput(parsed), [], 'agent config schema and checks pass')

  const unit = await readFile(unitAt(root), 'utf8')
  t.match(unit, new RegExp(`^ExecStart=${NODE} /opt/fleetnas/agent/bin/fleetnas-agent.js --config /etc/fleetnas/agent.json$`, 'm'), 'ExecStart with this node and the default prefix')
  t.match(unit, /^User=fleetnas$/m)
  t.match(unit, /^StateDirectory=fleetnas$/m)
  t.ok(existsSync(path.join(root, 'var/lib/fleetnas')), 'state dir created')

  const prefix = path.join(root, 'opt/fleetnas')
  for (const f of ['package.json', 'package-lock.json', 'agent/package.json', 'shared/package.json', 'shared/src/index.ts', 'controller/package.json', 'deploy/README.md'])
    t.ok(existsSync(path.join(prefix, f)), `${f} copied`)
  t.notOk(existsSync(path.join(prefix, 'controller/src')), 'controller code not installed (manifest only, for npm ci)')
  t.notOk(existsSync(path.join(prefix, 'node_modules')), 'no node_modules copied from the checkout')
  const tests = readdirSync(path.join(prefix, 'shared/src'), { recursive: true }).filter((f) => String(f).endsWith('.test.ts'))
  t.same(tests, [], 'no test files installed')
})

t.test('a second run keeps the config unless --force', async (t) => {
  const dir = folders(t)
  const root = dir()
  const first = await install([...base(root), '--broker', 'mqtt://one:1883', '--device-id', 'dev-1', '--password', 'one'])
  t.equal(first.code, 0, first.stderr)
  const before = await readFile(configAt(root), 'utf8')
  const mtime = (await stat(configAt(root))).mtimeMs

  const again = await install([...base(root), '--broker', 'mqtt://two:1883', '--device-id', 'dev-2'])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /kept existing \/etc\/fleetnas\/agent\.json/)
  t.equal(await readFile(configAt(root), 'utf8'), before, 'config unchanged')
  t.equal((await stat(configAt(root))).mtimeMs, mtime, 'config not even rewritten')

  // An upgrade run needs no agent flags at all once the config exists.
  const upgrade = await install(base(root))
  t.equal(upgrade.code, 0, `no --broker needed when the config exists: ${upgrade.stderr}`)

  const forced = await install([...base(root), '--force', '--broker', 'mqtts://two:8883', '--device-id', 'dev-2', '--password', 'two'])
  t.equal(forced.code, 0, forced.stderr)
  const now = JSON.parse(await readFile(configAt(root), 'utf8'))
  t.equal(now.broker, 'mqtts://two:8883', '--force replaced the config')
  t.equal(now.deviceId, 'dev-2')
  t.equal((await stat(configAt(root))).mode & 0o777, 0o600, 'still 0600 after --force')
})

t.test('missing --broker fails with a clear message and writes no config', async (t) => {
  const dir = folders(t)
  const root = dir()
  const r = await install([...base(root), '--device-id', 'dev-1'])
  t.equal(r.code, 2, 'usage error exit code')
  t.match(r.stderr, /--broker is required for a new config, e\.g\. --broker mqtt:\/\//)
  t.notOk(existsSync(configAt(root)), 'no config written')
  t.notOk(existsSync(unitAt(root)), 'nothing installed')
})

t.test('every problem is reported in one run', async (t) => {
  const dir = folders(t)
  const root = dir()
  const r = await install([...base(root), '--broker', 'http://x', '--device-id', '-bad id', '--threads', '0', '--log-level', 'loud', '--tls-ca', '/nonexistent/ca.crt'])
  t.equal(r.code, 2)
  t.match(r.stderr, /--broker http:\/\/x is not an MQTT URL/)
  t.match(r.stderr, /--device-id '-bad id'/)
  t.match(r.stderr, /--threads 0: a whole number from 1 to 256/)
  t.match(r.stderr, /--log-level loud/)
  t.match(r.stderr, /TLS file \/nonexistent\/ca\.crt is not readable/)
  t.equal((await install([...base(root), '--bogus'])).code, 2, 'unknown option is a usage error')
})

t.test('--password-file, TLS files, custom prefix and state dir', async (t) => {
  const dir = folders(t)
  const root = dir()
  const secrets = dir({ 'pw.txt': 'from-file-secret\n', 'ca.crt': 'CA PEM', 'client.crt': 'CERT PEM', 'client.key': 'KEY PEM' })
  const r = await install([
    ...base(root),
    '--prefix', '/srv/fleetnas',
    '--state-dir', '/data/fleetnas',
    '--broker', 'mqtts://broker.lan:8883',
    '--device-id', 'jetson-01',
    '--username', 'jetson-01-user',
    '--password-file', path.join(secrets, 'pw.txt'),
    '--tls-ca', path.join(secrets, 'ca.crt'),
    '--tls-cert', path.join(secrets, 'client.crt'),
    '--tls-key', path.join(secrets, 'client.key'),
    '--log-level', 'debug',
  ])
  t.equal(r.code, 0, r.stderr)
  const config = JSON.parse(await readFile(configAt(root), 'utf8'))
  t.equal(config.password, 'from-file-secret', 'first line of the password file, without newline')
  t.equal(config.username, 'jetson-01-user')
  t.equal(config.stateDir, '/data/fleetnas')
  t.same(config.tls, { ca: '/etc/fleetnas/tls/ca.crt', cert: '/etc/fleetnas/tls/client.crt', key: '/etc/fleetnas/tls/client.key' })
  t.equal(await readFile(path.join(root, 'etc/fleetnas/tls/client.key'), 'utf8'), 'KEY PEM')
  t.equal((await stat(path.join(root, 'etc/fleetnas/tls/client.key'))).mode & 0o777, 0o600, 'client key 0600')
  t.ok(existsSync(path.join(root, 'srv/fleetnas/agent/package.json')), 'code under the custom prefix')
  const unit = await readFile(unitAt(root), 'utf8')
  t.match(unit, /^ExecStart=\S+ \/srv\/fleetnas\/agent\/bin\/fleetnas-agent\.js /m, 'unit points at the custom prefix')
  t.match(unit, /^ReadWritePaths=\/var\/lib\/fleetnas \/data\/fleetnas$/m, 'custom state dir writable in the sandbox')

  const stdinRoot = dir()
  const viaStdin = await install([...base(stdinRoot), '--broker', 'mqtt://b:1883', '--device-id', 'd1', '--password-file', '-'], 'typed-secret\n')
  t.equal(viaStdin.code, 0, viaStdin.stderr)
  t.equal(JSON.parse(await readFile(configAt(stdinRoot), 'utf8')).password, 'typed-secret', "--password-file - reads standard input")
})

t.test('--source installs from a tarball with a top-level folder', async (t) => {
  const dir = folders(t)
  const work = dir()
  const tarball = path.join(work, 'fleetnas.tar.gz')
  // Like `git archive --prefix=fleetnas-0.1.0/`: everything under one folder.
  execFileSync('tar', ['-czf', tarball, '--exclude=node_modules', '--transform', 's,^,fleetnas-0.1.0/,', '-C', REPO,
    'package.json', 'package-lock.json', 'agent', 'shared', 'hardware-profiles', 'deploy'])
  const root = dir()
  const r = await install([...base(root), '--source', tarball, '--broker', 'mqtt://b:1883', '--device-id', 'd1'])
  t.equal(r.code, 0, r.stderr)
  t.ok(existsSync(path.join(root, 'opt/fleetnas/agent/package.json')), 'agent installed from the tarball')
  t.ok(existsSync(path.join(root, 'opt/fleetnas/hardware-profiles/raspberry-pi-4b.json')), 'hardware profiles installed')
  const bad = await install([...base(dir()), '--source', path.join(work, 'missing.tgz'), '--broker', 'mqtt://b:1883'])
  t.equal(bad.code, 2, 'a missing source is a usage error')
  t.match(bad.stderr, /--source .*missing\.tgz does not exist/)
})

t.test('--dry-run prints the plan and changes nothing', async (t) => {
  const dir = folders(t)
  const root = dir()
  const r = await install([...base(root), '--dry-run', '--broker', 'mqtt://b:1883', '--device-id', 'd1', '--password', 'never-printed'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /\+ write .*\/etc\/fleetnas\/agent\.json \(mode 0600\)/)
  t.match(r.stdout, /\+ useradd --system/)
  t.match(r.stdout, /\+ systemctl enable --now fleetnas-agent/)
  t.notMatch(r.stdout + r.stderr, /never-printed/, 'the password is never printed')
  t.same(readdirSync(root), [], 'the root stays empty')
})

const analyze = (() => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

t.test('systemd-analyze verify accepts both units', { skip: analyze ? false : 'systemd-analyze not installed' }, async (t) => {
  const dir = folders(t)
  const units = dir()
  for (const name of ['fleetnas-agent.service', 'fleetnas-controller.service']) {
    // verify wants the ExecStart binary to exist: point it at this node.
    const unit = path.join(units, name)
    const text = (await readFile(path.join(REPO, 'deploy', name), 'utf8')).replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${NODE} `)
    await writeFile(unit, text)
    const r = await new Promise<RunResult>((resolve) =>
      execFile('systemd-analyze', ['verify', unit], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    )
    // systemd < 254 does not know the restart backoff keys; anything else is a real problem.
    const other = r.stderr
      .split('\n')
      .filter((l) => l.trim() && !/Unknown key '(RestartSteps|RestartMaxDelaySec)'/.test(l))
    t.equal(r.code, 0, `${name}: verify exit 0`)
    t.same(other, [], `${name}: no warnings beyond the backoff keys`)
    // Hardening regressions show in systemd's exposure score (0 = locked down, 10 = none);
    // --offline needs systemd >= 250, older versions are not scored.
    const security = await new Promise<string>((resolve) =>
      execFile('systemd-analyze', ['security', '--offline=true', unit], (_err, stdout) => resolve(stdout)),
    )
    const score = security.match(/Overall exposure level for \S+: ([\d.]+)/)?.[1]
    if (score === undefined) t.comment(`${name}: systemd-analyze security --offline not supported here`)
    else t.ok(Number(score) <= 3, `${name}: exposure ${score} <= 3`)
  }
  // And the installed (rewritten) unit verifies too.
  const root = dir()
  t.equal((await install([...base(root), '--broker', 'mqtt://b:1883', '--device-id', 'd1'])).code, 0)
  await copyFile(unitAt(root), path.join(units, 'installed-fleetnas-agent.service'))
  const r = await new Promise<number>((resolve) =>
    execFile('systemd-analyze', ['verify', path.join(units, 'installed-fleetnas-agent.service')], (err) => resolve(err ? 1 : 0)),
  )
  t.equal(r, 0, 'installed unit verifies')
})
