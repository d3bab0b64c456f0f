/**
 * Measures the data layer: glyph rendering rate, task sampling rate, Omniglot full decode (cold,
 * into a fresh cache folder) and cached load. Run: npx tsx controller/src/nas/data/data-bench.ts [omniglot.zip]
 * (by default the background set beside the repository, see omniglot-location.ts; skipped if absent).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng } from '@fleetnas/shared'
import { createGlyphDataset } from './glyphs.ts'
import { loadOmniglot } from './omniglot.ts'
import { OMNIGLOT_ZIP, omniglotAbsent } from './omniglot-location.ts'
import { createTaskSampler } from './tasks.ts'

const seconds = (start: number) => (performance.now() - start) / 1000

const glyphs = createGlyphDataset({ cacheBytes: 0 })
let start = performance.now()
let n = 0
for (const c of glyphs.classes('train').slice(0, 500)) for (let i = 0; i < 20; i++, n++) c.image(i)
console.log(`glyphs: ${Math.round(n / seconds(start))} images/s rendered (28x28, no cache)`)

const cached = createGlyphDataset()
const sampler = createTaskSampler(cached, { way: 5, shot: 1, query: 15, split: 'train' })
const rng = createRng(1)
for (let i = 0; i < 2000; i++) sampler.sample(rng) // warm the cache
start = performance.now()
for (let i = 0; i < 2000; i++) sampler.sample(rng)
console.log(`glyph tasks 5-way 1-shot 15-query: ${Math.round(2000 / seconds(start))} tasks/s (warm cache)`)

const zip = process.argv[2] ?? OMNIGLOT_ZIP
// A path given on the command line is the user's: loadOmniglot reports what is wrong with it.
const absent = process.argv[2] === undefined && omniglotAbsent()
if (absent) console.log(absent)
else await benchOmniglot(zip)

async function benchOmniglot(zip: string): Promise<void> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'fleetnas-bench-cache-'))
  try {
    let start = performance.now()
    const ds = await loadOmniglot({ path: zip, cacheDir })
    const d = ds.describe()
    const images = d.splits.train.images / 4 + d.splits.val.images + d.splits.test.images
    console.log(`omniglot cold decode: ${images} images in ${seconds(start).toFixed(1)} s (${Math.round(images / seconds(start))} images/s)`)
    start = performance.now()
    await loadOmniglot({ path: zip, cacheDir })
    console.log(`omniglot cached load: ${(seconds(start) * 1000).toFixed(0)} ms`)
    const omniSampler = createTaskSampler(ds, { way: 20, shot: 1, query: 15, split: 'train' })
    start = performance.now()
    for (let i = 0; i < 500; i++) omniSampler.sample(rng)
    console.log(`omniglot tasks 20-way 1-shot 15-query: ${Math.round(500 / seconds(start))} tasks/s`)
  } finally {
    rmSync(cacheDir, { recursive: true, force: true })
  }
}
