/**
 * `npm run bundle:agent -- [--platform linux] [--arch x64|arm64] [--runtimes onnxruntime[,tfjs]] [--out DIR]`
 *
 * Writes DIR/fleetnas-agent-<version>-<platform>-<arch>.tar.gz (default DIR: dist/ in the
 * repository): the agent for one kind of device, ready to copy there and install without network
 * (`deploy/install-agent.sh --bundle FILE`). Platform and arch default to this machine's.
 * Exit codes as every fleetnas command: 2 for bad options, 1 otherwise.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { exitCodeFor, messageFor } from '@fleetnas/shared'
import { buildBundle } from './build.ts'
import { BundleOptionsInvalid } from './errors.ts'
import { resolveBundleTarget } from './target.ts'

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url))

const USAGE = `usage: npm run bundle:agent -- [--platform linux] [--arch x64|arm64] [--runtimes onnxruntime[,tfjs]] [--out DIR]`

export async function bundleCommand(argv: string[]): Promise<void> {
  let values: { platform?: string; arch?: string; runtimes?: string; out?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { platform: { type: 'string' }, arch: { type: 'string' }, runtimes: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }))
  } catch (e) {
    throw BundleOptionsInvalid([`${(e as Error).message}`, USAGE])
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const target = resolveBundleTarget(values)
  const outDir = path.resolve(values.out ?? path.join(REPO_DIR, 'dist'))
  const t0 = performance.now()
  const built = await buildBundle({ ...target, repoDir: REPO_DIR, outDir, log: (l) => process.stderr.write(`bundle: ${l}\n`) })
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`
  process.stdout.write(
    `${built.file}\n` +
      `  ${mb(built.bytes)} packed, ${mb(built.unpackedBytes)} unpacked; ${built.manifest.platform}-${built.manifest.arch}, runtimes ${built.manifest.runtimes.join(', ')}; ` +
      `built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n` +
      `  packages: ${Object.entries(built.manifest.packages).map(([n, v]) => `${n}@${v}`).join(', ')}\n` +
      (built.absent.length ? `  optional, not installed here, left out: ${built.absent.join(', ')}\n` : '') +
      `  install on the device (Node.js >= 20, no network needed): sudo deploy/install-agent.sh --bundle ${path.basename(built.file)} --broker mqtt://HOST:1883\n`,
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  bundleCommand(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${messageFor(e)}\n`)
    process.exit(exitCodeFor(e))
  })
}
