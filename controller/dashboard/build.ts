/**
 * Builds the dashboard client: one esbuild bundle (Preact, Observable Plot, the pages) into
 * controller/dashboard/dist with content-hashed names, an index.html that loads them, and .br/.gz
 * copies that @fastify/static serves to browsers that accept them. The controller's `build`
 * script runs it (so `npm run build`, and `npm test` which builds first); `dist/` is not committed.
 *
 *   tsx dashboard/build.ts [--dev]     (--dev: no minification)
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const HERE = fileURLToPath(new URL('.', import.meta.url))
export const DIST = join(HERE, 'dist')

export interface BuildResult {
  outDir: string
  files: { name: string; bytes: number; gzipBytes: number }[]
  ms: number
}

export async function buildDashboard(opts: { outDir?: string; minify?: boolean } = {}): Promise<BuildResult> {
  const started = performance.now()
  const outDir = opts.outDir ?? DIST
  // Built beside, then swapped in, so a reader never sees half a dashboard.
  const staging = `${outDir}.tmp-${process.pid}`
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  const result = await build({
    absWorkingDir: HERE,
    entryPoints: { app: join(HERE, 'src/main.tsx') },
    outdir: staging,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    splitting: true, // the chart library loads with the first chart, not with every page
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  })
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p))
  const js = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'))
  const css = outputs.find((f) => f.endsWith('.css'))
  if (!js || !css) throw new Error(`dashboard build made no ${js ? 'CSS' : 'JavaScript'} bundle`)
  const template = await readFile(join(HERE, 'index.html'), 'utf8')
  await writeFile(join(staging, 'index.html'), template.replace('%APP_CSS%', `/${css}`).replace('%APP_JS%', `/${js}`))

  const files: BuildResult['files'] = []
  for (const name of [...outputs.filter((f) => !f.endsWith('.map')), 'index.html']) {
    const body = await readFile(join(staging, name))
    const gz = gzipSync(body, { level: 9 })
    if (name !== 'index.html') {
      await writeFile(join(staging, `${name}.gz`), gz)
      await writeFile(join(staging, `${name}.br`), brotliCompressSync(body))
    }
    files.push({ name, bytes: body.length, gzipBytes: gz.length })
  }
  await rm(outDir, { recursive: true, force: true })
  await rename(staging, outDir)
  return { outDir, files, ms: performance.now() - started }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await buildDashboard({ minify: !process.argv.includes('--dev') })
  const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`
  console.log(`dashboard built in ${Math.round(r.ms)} ms -> ${r.outDir}`)
  for (const f of r.files) console.log(`  ${f.name.padEnd(28)} ${kb(f.bytes).padStart(10)}  (gzip ${kb(f.gzipBytes)})`)
}
