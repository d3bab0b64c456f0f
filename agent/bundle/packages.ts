/**
 * The files of the packages the compiled agent leaves external (native addons and tfjs), as Node
 * loads them on the target: for each package, what esbuild's resolver reaches from the entry points
 * that are really imported, plus its package.json files, licence files, the target's native libraries beside
 * a loaded addon and the .wasm files beside loaded code. Dependencies follow the same way, so a
 * package's install-only dependencies (onnxruntime-node's adm-zip and global-agent, used by its
 * download script) and its other platforms' binaries stay behind.
 */
import { builtinModules, createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import * as esbuild from 'esbuild'
import { BundlePackageMissing } from './errors.ts'
import { isNativeFile } from './elf.ts'
import type { BundleTarget } from './target.ts'

export interface PackageFiles {
  name: string
  version: string
  /** The package folder. */
  dir: string
  /** Files to copy, relative to `dir`. */
  files: string[]
}

const BUILTINS = new Set(builtinModules)
const LICENCE = /^(licen[cs]e|notice|copying|thirdpartynotices)/i
const PLATFORMS = ['darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'android', 'aix', 'sunos']
const ARCHES = ['x64', 'arm64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64']

/** 'a/b/c' -> ['a', 'b/c']; '@s/a/b' -> ['@s/a', 'b']; builtins -> undefined. */
export function splitSpecifier(spec: string): [string, string] | undefined {
  if (spec.startsWith('node:') || BUILTINS.has(spec) || spec.startsWith('.') || spec.startsWith('/')) return undefined
  const parts = spec.split('/')
  const n = spec.startsWith('@') ? 2 : 1
  return [parts.slice(0, n).join('/'), parts.slice(n).join('/')]
}

/** True when `rel` lies in a folder for another platform or arch (bin/napi-v6/darwin/arm64/...). */
export function isOtherPlatform(rel: string, target: Pick<BundleTarget, 'platform' | 'arch'>): boolean {
  const segs = rel.split(/[\\/]/)
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!
    if (PLATFORMS.includes(s) && s !== target.platform) return true
    if (PLATFORMS.includes(s) && ARCHES.includes(segs[i + 1] ?? '') && segs[i + 1] !== target.arch) return true
    const m = /^(\w+)-(\w+)$/.exec(s) // linux-arm64, darwin-x64
    if (m && PLATFORMS.includes(m[1]!) && ARCHES.includes(m[2]!) && s !== `${target.platform}-${target.arch}`) return true
  }
  return false
}

/** The folder of package `name` as Node finds it from `fromDir` (node_modules up the tree). */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name)
    if (existsSync(path.join(candidate, 'package.json'))) return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}

interface Wanted {
  name: string
  subpaths: Set<string>
  fromDir: string
  /** The importing package's folder (undefined for the agent's own roots, which must exist). */
  byDir?: string
  by: string
}

export interface RuntimePackages {
  packages: PackageFiles[]
  /** Imported but not installed and not a required dependency of the importer (guarded optional requires). */
  absent: string[]
}

/** True when the package at `dir` lists `name` as a plain (required) dependency. */
async function requires(dir: string, name: string): Promise<boolean> {
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
  return pkg.dependencies?.[name] !== undefined && pkg.optionalDependencies?.[name] === undefined
}

/** Walks from `roots` (bare specifiers imported by code in `fromDir`) through every package they load. */
export async function runtimePackages(roots: string[], fromDir: string, target: BundleTarget): Promise<RuntimePackages> {
  const found = new Map<string, PackageFiles>() // by dir
  const absent = new Set<string>()
  const queue: Wanted[] = []
  const want = (spec: string, from: string, by: string, byDir?: string) => {
    const split = splitSpecifier(spec)
    if (split) queue.push({ name: split[0], subpaths: new Set([split[1]]), fromDir: from, by, byDir })
  }
  for (const r of roots) want(r, fromDir, 'the agent')

  while (queue.length > 0) {
    const w = queue.shift()!
    const dir = packageDir(w.name, w.fromDir)
    if (!dir) {
      if (w.byDir === undefined || (await requires(w.byDir, w.name))) throw BundlePackageMissing(w.name, w.by)
      absent.add(w.name)
      continue
    }
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string }
    const entry = found.get(dir) ?? { name: w.name, version: pkg.version, dir, files: [] }
    const require = createRequire(path.join(dir, 'package.json'))
    const entryPoints = [...w.subpaths].map((sub) => require.resolve(sub ? `${w.name}/${sub}` : w.name))
    const known = new Set(entry.files)
    const fresh = entryPoints.filter((f) => !known.has(path.relative(dir, f)))
    if (found.has(dir) && fresh.length === 0) continue
    found.set(dir, entry)

    const result = await esbuild.build({
      entryPoints: fresh.length > 0 ? fresh : entryPoints,
      bundle: true,
      platform: 'node',
      packages: 'external',
      write: false,
      metafile: true,
      outdir: path.join(dir, '.fleetnas-bundle-probe'),
      logLevel: 'silent',
      // Addons are required by computed paths (bin/napi-v6/${platform}/${arch}/...): list, do not load.
      loader: { '.node': 'empty' },
    })
    const files = new Set(entry.files)
    for (const [input, meta] of Object.entries(result.metafile.inputs)) {
      const abs = path.resolve(input)
      const rel = path.relative(dir, abs)
      if (rel.startsWith('..') || isOtherPlatform(rel, target)) continue
      files.add(rel)
      for (const imp of meta.imports) if (imp.external) want(imp.path, path.dirname(abs), w.name, dir)
    }
    // Beside a loaded addon: the shared libraries it links (libonnxruntime.so.1). Beside loaded
    // code: the .wasm files it reads at run time (tfjs-backend-wasm).
    for (const rel of [...files]) {
      const folder = path.dirname(rel)
      const native = isNativeFile(rel)
      for (const f of await readdir(path.join(dir, folder), { withFileTypes: true })) {
        if (!f.isFile()) continue
        if ((native && isNativeFile(f.name)) || f.name.endsWith('.wasm')) files.add(path.join(folder, f.name))
      }
    }
    // Node reads the nearest package.json for a file's module type: onnxruntime-common's root one says
    // "module", dist/cjs/package.json says "commonjs".
    for (const rel of [...files])
      for (let folder = path.dirname(rel); folder !== '.'; folder = path.dirname(folder))
        if (existsSync(path.join(dir, folder, 'package.json'))) files.add(path.join(folder, 'package.json'))
    for (const f of await readdir(dir)) if (LICENCE.test(f) || f === 'package.json') files.add(f)
    entry.files = [...files].sort()
  }
  return { packages: [...found.values()].sort((a, b) => a.dir.localeCompare(b.dir)), absent: [...absent].sort() }
}
