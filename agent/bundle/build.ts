/**
 * One device bundle: a .tar.gz holding a single folder, fleetnas-agent-<version>-<platform>-<arch>/,
 * laid out as install-agent.sh installs it under /opt/fleetnas:
 *
 *   fleetnas-bundle.json          what it is for (platform, arch, runtimes, Node, package versions)
 *   agent/package.json, bin/, dist/   the compiled agent (compile.ts); bin/ as in a checkout
 *   hardware-profiles/*.json      device classes the agent matches
 *   deploy/install-agent.sh, deploy/fleetnas-agent.service
 *   node_modules/                 onnxruntime-node (this platform's binaries only) and, unless left
 *                                 out, tfjs-core with its cpu and wasm backends (packages.ts)
 *
 * Nothing in it runs npm or fetches anything: installing is unpacking. Node itself is not in it.
 */
import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { compileAgent } from './compile.ts'
import { fileElfArch, isNativeFile } from './elf.ts'
import { BundleNativeMismatch, BundleOptionsInvalid } from './errors.ts'
import { runtimePackages, type PackageFiles } from './packages.ts'
import { targetName, type BundleRuntime, type BundleTarget } from './target.ts'

const run = promisify(execFile)

/** Bumped when the layout changes in a way install-agent.sh must know about. */
export const BUNDLE_FORMAT = 1
export const MANIFEST = 'fleetnas-bundle.json'

/** What each runtime needs at run time beside the compiled agent. */
const RUNTIME_PACKAGES: Record<BundleRuntime, string[]> = {
  // dist/binding.js is required by path: the runner reads the execution providers from it.
  onnxruntime: ['onnxruntime-node', 'onnxruntime-node/dist/binding.js'],
  tfjs: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'],
}
/** Imported by the agent but never bundled: it builds against libtensorflow on the machine that installs it. */
const NEVER_BUNDLED = ['@tensorflow/tfjs-node']

export interface BundleManifest {
  format: number
  agentVersion: string
  platform: string
  arch: string
  runtimes: BundleRuntime[]
  /** Node.js the device must have (not bundled). */
  node: string
  /** Every package in node_modules with its version. */
  packages: Record<string, string>
}

export interface BuildBundleOptions extends BundleTarget {
  /** The repository root (agent/, hardware-profiles/, deploy/, node_modules/). */
  repoDir: string
  outDir: string
  /** Called with one line per step. */
  log?: (line: string) => void
}

export interface BuiltBundle {
  file: string
  /** The tarball's size and the sum of the sizes of the files in it. */
  bytes: number
  unpackedBytes: number
  manifest: BundleManifest
  /** Guarded optional imports that were not installed here and are not bundled. */
  absent: string[]
}

const LAUNCHER = `#!/usr/bin/env node
// fleetnas device bundle: the agent compiled to JavaScript (no TypeScript, no tsx at run time).
import { main } from '../dist/cli.js'

await main(process.argv)
`
const WORKER_LAUNCHER = `#!/usr/bin/env node
// The measurement worker, forked by the daemon for each job (never started by hand).
await import('../dist/measure-worker.js')
`

async function writeExecutable(file: string, text: string): Promise<void> {
  await writeFile(file, text)
  await chmod(file, 0o755)
}

async function copyPackages(packages: PackageFiles[], repoDir: string, stage: string): Promise<void> {
  for (const p of packages) {
    // Kept at the same path relative to the repository (node_modules/x, node_modules/a/node_modules/x):
    // Node resolves them from agent/dist exactly as from agent/src.
    const dest = path.join(stage, path.relative(repoDir, p.dir))
    for (const f of p.files) {
      await mkdir(path.dirname(path.join(dest, f)), { recursive: true })
      await copyFile(path.join(p.dir, f), path.join(dest, f))
    }
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
  return out
}

/** Every addon and shared library must be an ELF file for the target's architecture. */
async function checkNatives(files: string[], target: BundleTarget, stage: string): Promise<number> {
  const wrong: string[] = []
  let count = 0
  for (const f of files.filter((f) => isNativeFile(path.basename(f)))) {
    count++
    const arch = await fileElfArch(f)
    if (arch !== target.arch) wrong.push(`${path.relative(stage, f)} (${arch ?? 'not ELF'})`)
  }
  if (wrong.length > 0) throw BundleNativeMismatch(targetName(target), wrong)
  return count
}

export async function buildBundle(o: BuildBundleOptions): Promise<BuiltBundle> {
  const log = o.log ?? (() => {})
  const agentDir = path.join(o.repoDir, 'agent')
  const agentPkg = JSON.parse(await readFile(path.join(agentDir, 'package.json'), 'utf8')) as { name: string; version: string; description?: string }
  const suffix = o.runtimes.includes('tfjs') ? '' : '-onnxruntime'
  const name = `fleetnas-agent-${agentPkg.version}-${targetName(o)}${suffix}`
  await mkdir(o.outDir, { recursive: true })
  const work = await mkdtemp(path.join(o.outDir, `.${name}-`))
  try {
    const stage = path.join(work, name)
    log(`compiling the agent (esbuild) into ${name}/agent/dist`)
    const compiled = await compileAgent(agentDir, path.join(stage, 'agent', 'dist'))
    const known = new Set([...Object.values(RUNTIME_PACKAGES).flat(), ...NEVER_BUNDLED])
    const unknown = compiled.externals.filter((e) => !known.has(e))
    if (unknown.length > 0) throw BundleOptionsInvalid([`the agent imports ${unknown.join(', ')} at run time, which build.ts does not assign to a runtime`])

    const roots = o.runtimes.flatMap((r) => RUNTIME_PACKAGES[r])
    log(`collecting ${roots.join(', ')} for ${targetName(o)}`)
    const { packages, absent } = await runtimePackages(roots, agentDir, o)
    await copyPackages(packages, o.repoDir, stage)

    await mkdir(path.join(stage, 'agent', 'bin'), { recursive: true })
    await writeExecutable(path.join(stage, 'agent', 'bin', 'fleetnas-agent.js'), LAUNCHER)
    await writeExecutable(path.join(stage, 'agent', 'bin', 'measure-worker.js'), WORKER_LAUNCHER)
    const rootVersions = Object.fromEntries(packages.filter((p) => roots.includes(p.name)).map((p) => [p.name, p.version]))
    await writeFile(
      path.join(stage, 'agent', 'package.json'),
      JSON.stringify({ name: agentPkg.name, version: agentPkg.version, private: true, type: 'module', description: agentPkg.description, bin: { 'fleetnas-agent': './bin/fleetnas-agent.js' }, engines: { node: '>=20' }, dependencies: rootVersions }, null, 2) + '\n',
    )
    await mkdir(path.join(stage, 'hardware-profiles'))
    for (const f of await readdir(path.join(o.repoDir, 'hardware-profiles')))
      if (f.endsWith('.json')) await copyFile(path.join(o.repoDir, 'hardware-profiles', f), path.join(stage, 'hardware-profiles', f))
    await mkdir(path.join(stage, 'deploy'))
    for (const f of ['install-agent.sh', 'fleetnas-agent.service']) await copyFile(path.join(o.repoDir, 'deploy', f), path.join(stage, 'deploy', f))
    await chmod(path.join(stage, 'deploy', 'install-agent.sh'), 0o755)

    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      agentVersion: agentPkg.version,
      platform: o.platform,
      arch: o.arch,
      runtimes: o.runtimes,
      node: '>=20',
      packages: Object.fromEntries(packages.map((p) => [p.name, p.version])),
    }
    await writeFile(path.join(stage, MANIFEST), JSON.stringify(manifest, null, 2) + '\n')

    const files = await filesUnder(stage)
    const natives = await checkNatives(files, o, stage)
    let unpackedBytes = 0
    for (const f of files) unpackedBytes += (await stat(f)).size
    log(`${files.length} files (${natives} native, all ${o.arch} ELF), ${(unpackedBytes / 1e6).toFixed(1)} MB; packing`)

    const file = path.join(o.outDir, `${name}.tar.gz`)
    const partial = path.join(work, `${name}.tar.gz`)
    // Owned by root in the archive whoever built it; sorted so two builds list files alike.
    await run('tar', ['-C', work, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', partial, name])
    await rename(partial, file)
    return { file, bytes: (await stat(file)).size, unpackedBytes, manifest, absent }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
