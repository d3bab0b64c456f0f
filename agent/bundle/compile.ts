/**
 * The agent as plain JavaScript: esbuild compiles the daemon (src/cli.ts) and the measurement
 * worker (src/worker/measure-worker.ts) with @fleetnas/shared and every pure-JavaScript dependency
 * (mqtt, pino, commander, typebox, protobufjs, systeminformation) into ES module chunks in one flat
 * folder. Chunks load lazily where the sources import lazily (the runners, the inventory). No tsx at
 * run time: the device starts compiled code. Native addons and tfjs stay external packages
 * (packages.ts copies them): their binaries and .wasm files are found by paths relative to
 * their own code, and tfjs must be one instance shared by its backends.
 */
import * as esbuild from 'esbuild'
import { splitSpecifier } from './packages.ts'

/** Left to node_modules; everything else is compiled in. */
export const EXTERNAL = ['onnxruntime-node', '@tensorflow/*']

export interface CompiledAgent {
  /** Packages the chunks import at run time, from EXTERNAL (guarded optional requires esbuild could not resolve are not listed). */
  externals: string[]
  bytes: number
}

export async function compileAgent(agentDir: string, outDir: string): Promise<CompiledAgent> {
  const result = await esbuild.build({
    absWorkingDir: agentDir,
    entryPoints: { cli: 'src/cli.ts', 'measure-worker': 'src/worker/measure-worker.ts' },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    minifySyntax: true,
    minifyWhitespace: true,
    // Error classes and stack traces keep their names.
    keepNames: true,
    legalComments: 'eof',
    // CommonJS dependencies compiled into ES modules still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __fleetnasCreateRequire } from 'node:module'; const require = __fleetnasCreateRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  })
  const externals = new Set<string>()
  let bytes = 0
  for (const out of Object.values(result.metafile.outputs)) {
    bytes += out.bytes
    for (const imp of out.imports) {
      const name = imp.external ? splitSpecifier(imp.path)?.[0] : undefined
      if (name && EXTERNAL.some((e) => (e.endsWith('/*') ? name.startsWith(e.slice(0, -1)) : name === e))) externals.add(name)
    }
  }
  return { externals: [...externals].sort(), bytes }
}
