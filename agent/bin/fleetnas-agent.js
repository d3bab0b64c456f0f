#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx (no build step).
//
// The daemon loads its sources through tsx's in-thread CommonJS hook, not its ESM loader: on Node 20
// an ESM loader runs in an extra thread with its own V8 heap (about 25 MB of the daemon's idle RSS).
// esbuild (tsx's transformer, needed only when tsx's disk cache misses) runs as a short-lived
// process per file rather than in a worker thread that would stay alive. Should the sources stop
// loading as CommonJS (e.g. a top-level await), the ESM loader is used instead.
import { createRequire } from 'node:module'

process.env.ESBUILD_WORKER_THREADS ??= '0'
let main
try {
  const { register } = await import('tsx/cjs/api')
  register()
  ;({ main } = createRequire(import.meta.url)('../src/cli.ts'))
} catch (e) {
  process.stderr.write(`fleetnas-agent: loading as CommonJS failed (${e?.message ?? e}); using the ESM loader\n`)
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../src/cli.ts'))
}
await main(process.argv)
