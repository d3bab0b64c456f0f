/**
 * The device bundle as a user gets it: `npm run bundle:agent` builds the linux-x64 bundle, the
 * install script puts it into a temporary root with npm and the registry out of reach (a stand-in
 * `npm` that fails, npm_config_offline, an unreachable registry and proxy), and the installed agent,
 * started as the unit starts it (its own node_modules only: the root is outside this checkout),
 * registers with a real controller over MQTT and measures blocks with ONNX Runtime and tfjs. The
 * linux-arm64 bundle is built and every native file in it must be an aarch64 ELF. Bad input: unknown
 * platform or arch, missing, corrupt or foreign files, a bundle for another architecture.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseBlockKey } from '@fleetnas/shared'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import type { LutView } from '../controller/src/cli/api-types.ts'
import { buildBundle, MANIFEST, type BundleManifest } from '../agent/bundle/build.ts'
import { elfArch, fileElfArch, isNativeFile } from '../agent/bundle/elf.ts'
import { BundleOptionsInvalid } from '../agent/bundle/errors.ts'
import { resolveBundleTarget } from '../agent/bundle/target.ts'
import { tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = path.join(REPO, 'deploy', 'install-agent.sh')
const FAST = { warmupRuns: 2, minRuns: 6, minTimeMs: 5, maxCv: 0.5 }

interface Run {
  code: number
  stdout: string
  stderr: string
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) =>
    execFile(file, args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  )
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).filter(Boolean)
}

// One temporary folder for the whole file (outside the checkout, so nothing resolves from its node_modules).
const work = await tempDir('fleetnas-bundle-test-')
t.teardown(work.remove)
const out = path.join(work.path, 'out')

t.test('linux-x64 bundle: built, installed offline, registers and measures', async (t) => {
  const built = await buildBundle({ platform: 'linux', arch: 'x64', runtimes: ['onnxruntime', 'tfjs'], repoDir: REPO, outDir: out })
  t.equal(path.basename(built.file), `fleetnas-agent-${built.manifest.agentVersion}-linux-x64.tar.gz`)
  t.ok(built.bytes < 40e6, `bundle ${(built.bytes / 1e6).toFixed(1)} MB < 40 MB`)

  // No npm and no registry for the install: a stand-in npm that records being called and fails.
  const fakeBin = path.join(work.path, 'no-npm')
  await mkdir(fakeBin)
  const npmCalls = path.join(work.path, 'npm-called')
  for (const tool of ['npm', 'npx']) {
    await writeFile(path.join(fakeBin, tool), `#!/bin/sh\necho "$0 $*" >> '${npmCalls}'\nexit 1\n`)
    await chmod(path.join(fakeBin, tool), 0o755)
  }
  const offline = {
    ...process.env,
    PATH: `${fakeBin}:${process.env.PATH}`,
    npm_config_offline: 'true',
    npm_config_registry: 'http://127.0.0.1:9/',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    NODE_PATH: '',
    LC_ALL: 'C',
  }

  const controller = await startController({ dataDir: path.join(work.path, 'controller'), httpPort: 0, mqttPort: 0, insecure: true, logLevel: 'warn' })
  t.teardown(() => controller.stop())
  const api = new ApiClient({ api: controller.httpUrl })

  const root = path.join(work.path, 'root')
  const stateDir = path.join(root, 'var/lib/fleetnas')
  const installed = await exec('bash', [SCRIPT, '--bundle', built.file, '--root', root, '--node', process.execPath, '--no-start',
    '--broker', controller.mqttUrl, '--device-id', 'bundle-x64', '--threads', '1', '--hardware-profile', 'x86-64',
    '--state-dir', stateDir, '--log-level', 'warn'], offline)
  t.equal(installed.code, 0, `install exits 0: ${installed.stderr}`)
  t.match(installed.stdout, /installed the bundle: no npm, no network/)
  t.notOk(existsSync(npmCalls), 'npm was never called')

  const prefix = path.join(root, 'opt/fleetnas')
  t.same((await readdir(prefix)).sort(), ['agent', 'deploy', MANIFEST, 'hardware-profiles', 'node_modules'].sort(), 'the prefix holds the bundle, nothing else')
  const files = await filesUnder(prefix)
  t.same(files.filter((f) => f.endsWith('.ts')), [], 'no TypeScript installed')
  t.notOk(files.some((f) => /(^|\/)(tsx|esbuild|@tensorflow\/tfjs|@tensorflow\/tfjs-node|@tensorflow\/tfjs-backend-webgl|@tensorflow\/tfjs-layers|adm-zip|global-agent)\//.test(f)), 'no tsx, esbuild, full tfjs, webgl, layers or install-only packages')
  const natives = files.filter((f) => isNativeFile(path.basename(f)))
  t.ok(natives.some((f) => f.endsWith('onnxruntime_binding.node')), 'the ONNX Runtime addon is there')
  for (const f of natives) {
    t.match(f, /linux\/x64\//, `${f}: this platform's`)
    t.equal(await fileElfArch(path.join(prefix, f)), 'x64', `${f}: x86-64 ELF`)
  }
  const unit = await readFile(path.join(root, 'etc/systemd/system/fleetnas-agent.service'), 'utf8')
  const execStart = /^ExecStart=(\S+) (\S+) --config (\S+)$/m.exec(unit)
  t.ok(execStart, 'unit has an ExecStart')
  t.equal(execStart![2], '/opt/fleetnas/agent/bin/fleetnas-agent.js', 'the unit starts the bundled agent')

  // Start it as the unit does (paths moved under the root), still without npm or registry.
  const started = performance.now()
  const agent = execFile(process.execPath, [path.join(prefix, 'agent/bin/fleetnas-agent.js'), '--config', path.join(root, 'etc/fleetnas/agent.json')], { env: offline })
  let log = ''
  agent.stdout!.on('data', (d) => (log += d))
  agent.stderr!.on('data', (d) => (log += d))
  t.teardown(() => new Promise<void>((resolve) => (agent.exitCode !== null ? resolve() : (agent.once('exit', () => resolve()), agent.kill('SIGTERM')))))

  const [device] = await waitOnline(api, ['bundle-x64'], 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\nagent output:\n${log}`)
  })
  t.comment(`installed agent online ${((performance.now() - started) / 1000).toFixed(1)} s after start`)
  t.equal(device!.hardwareProfile, 'x86-64')
  t.equal(device!.agentVersion, built.manifest.agentVersion, 'reports the bundle version')
  const withRuntimes = await until('the device info with its runtimes', async () => {
    const d = (await api.get<{ runtimes: { name: string; version: string; backends: string[] }[] }>('/v1/devices/bundle-x64'))
    return d.runtimes?.length ? d : undefined
  })
  const runtimes = Object.fromEntries(withRuntimes.runtimes.map((r) => [r.name, r]))
  t.same(Object.keys(runtimes).sort(), ['onnxruntime', 'tfjs'], 'reports both runtimes it carries')
  t.equal(runtimes.onnxruntime!.version, built.manifest.packages['onnxruntime-node'], 'ONNX Runtime probed in the worker: its version')
  t.ok(runtimes.onnxruntime!.backends.includes('cpu'), 'ONNX Runtime CPU execution provider')
  t.same(runtimes.tfjs!.backends, ['wasm'], 'tfjs on its wasm backend (tfjs-node is never bundled)')
  t.notMatch(log, /runtime probe failed/, 'the runtime probe worked')

  const { id } = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'bundle',
    blocks: ['conv-k3-s1-i28x28x16-o28x28x32-bn-relu', 'dwsep-k5-s2-i14x14x16-o7x7x24-bn-relu'].map(parseBlockKey),
    targets: { devices: ['bundle-x64'] },
    runtimes: ['onnxruntime', 'tfjs'],
    settings: FAST,
  })
  const done = await waitCampaign(api, id, (c) => ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(c.state), 'the campaign to finish', 120_000)
  t.equal(done.state, 'SUCCEEDED', `campaign succeeded\n${log}`)
  t.same(done.progress, { total: 4, succeeded: 4, failed: 0 }, 'two blocks on each runtime')
  for (const runtime of ['onnxruntime', 'tfjs']) {
    const lut = await api.get<LutView>(`/v1/luts/x86-64?runtime=${runtime}&threads=1`)
    t.equal(lut.entries.length, 2, `${runtime}: both blocks in the LUT`)
    for (const e of lut.entries) t.ok(e.medianMs >= 0 && e.medianMs < 1000 && e.samples >= FAST.minRuns, `${runtime} ${e.key}: ${e.medianMs} ms over ${e.samples} runs`)
  }
})

t.test('linux-arm64 bundle: only aarch64 native files; refused on this machine', async (t) => {
  const built = await buildBundle({ platform: 'linux', arch: 'arm64', runtimes: ['onnxruntime'], repoDir: REPO, outDir: out })
  t.match(path.basename(built.file), /^fleetnas-agent-.*-linux-arm64-onnxruntime\.tar\.gz$/)
  t.same(built.manifest.runtimes, ['onnxruntime'])
  t.notOk(Object.keys(built.manifest.packages).some((p) => p.startsWith('@tensorflow/')), '--runtimes onnxruntime leaves tfjs out')

  const unpacked = path.join(work.path, 'arm64')
  await mkdir(unpacked)
  const untar = await exec('tar', ['-xzf', built.file, '-C', unpacked])
  t.equal(untar.code, 0, untar.stderr)
  const [top] = await readdir(unpacked)
  const dir = path.join(unpacked, top!)
  const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as BundleManifest
  t.same([manifest.platform, manifest.arch], ['linux', 'arm64'])
  const files = await filesUnder(dir)
  const natives = files.filter((f) => isNativeFile(path.basename(f)))
  t.ok(natives.length >= 2, `native files: ${natives.join(', ')}`)
  for (const f of natives) t.equal(await fileElfArch(path.join(dir, f)), 'arm64', `${f}: aarch64 ELF`)
  t.notOk(files.some((f) => /\/(darwin|win32)\/|\/linux\/x64\//.test(f)), 'no other platform binaries')
  let bytes = 0
  for (const f of files) bytes += (await stat(path.join(dir, f))).size
  t.ok(bytes < 150e6, `unpacked ${(bytes / 1e6).toFixed(1)} MB <= 150 MB (issue 14's target for linux-arm64)`)

  if (`${process.platform}-${process.arch}` !== 'linux-arm64') {
    const r = await exec('bash', [SCRIPT, '--bundle', built.file, '--root', path.join(work.path, 'arm64-root'), '--node', process.execPath, '--broker', 'mqtt://b:1883'])
    t.equal(r.code, 2, 'refused as a usage error')
    t.match(r.stderr, /is for linux-arm64, but this machine's Node\.js runs linux-x64: build one with npm run bundle:agent -- --platform linux --arch x64/)
    t.notOk(existsSync(path.join(work.path, 'arm64-root/opt/fleetnas/agent')), 'nothing installed')
  }
})

t.test('bad input is refused with a clear message', async (t) => {
  t.throws(() => resolveBundleTarget({ platform: 'darwin', arch: 'mips', runtimes: 'tfjs,pytorch' }), { code: BundleOptionsInvalid.code }, 'one error')
  try {
    resolveBundleTarget({ platform: 'darwin', arch: 'mips', runtimes: 'tfjs,pytorch' })
  } catch (e) {
    const message = (e as Error).message
    t.match(message, /--platform darwin: one of linux/)
    t.match(message, /--arch mips: one of x64, arm64/)
    t.match(message, /unknown runtime pytorch/)
    t.match(message, /--runtimes must include onnxruntime/)
  }
  t.same(resolveBundleTarget({}, { platform: 'linux', arch: 'arm64' }), { platform: 'linux', arch: 'arm64', runtimes: ['onnxruntime', 'tfjs'] }, 'defaults: this machine, both runtimes')
  t.equal(elfArch(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 183, 0])), 'arm64', 'ELF header of an aarch64 shared object')
  t.equal(elfArch(new TextEncoder().encode('#!/bin/sh\necho not an ELF file')), undefined)

  const cli = await exec(process.execPath, ['--import', 'tsx', path.join(REPO, 'agent/bundle/cli.ts'), '--platform', 'linux', '--arch', 'riscv64', '--out', out])
  t.equal(cli.code, 2, 'npm run bundle:agent exits 2 on an unknown arch')
  t.match(cli.stderr, /FLEETNAS_ERR_BUNDLE_OPTIONS.*\n.*--arch riscv64: one of x64, arm64/)

  const install = (bundle: string) => exec('bash', [SCRIPT, '--bundle', bundle, '--root', path.join(work.path, 'bad-root'), '--node', process.execPath, '--broker', 'mqtt://b:1883'])
  const missing = await install(path.join(work.path, 'missing.tar.gz'))
  t.equal(missing.code, 2)
  t.match(missing.stderr, /--bundle .*missing\.tar\.gz does not exist/)

  const cut = path.join(work.path, 'cut.tar.gz')
  const whole = (await readdir(out)).find((f) => f.endsWith('-linux-x64.tar.gz'))
  const bytes = await readFile(path.join(out, whole ?? (await readdir(out))[0]!))
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
  const corrupt = await install(cut)
  t.equal(corrupt.code, 2)
  t.match(corrupt.stderr, /is not a readable \.tar\.gz \(corrupt or cut short\?/)

  const foreign = path.join(work.path, 'foreign.tar.gz')
  t.equal((await exec('tar', ['-czf', foreign, '-C', REPO, 'hardware-profiles'])).code, 0)
  const notBundle = await install(foreign)
  t.equal(notBundle.code, 2)
  t.match(notBundle.stderr, /is not a fleetnas agent bundle \(no fleetnas-bundle\.json/)
  t.notOk(existsSync(path.join(work.path, 'bad-root/opt/fleetnas')), 'nothing installed by any of them')
})
