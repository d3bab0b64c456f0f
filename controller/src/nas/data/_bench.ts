import { loadOmniglot } from './omniglot.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
const cacheDir = mkdtempSync(join(tmpdir(), 'fn-bench-'))
const conc = Number(process.argv[2] ?? 8)
let t = performance.now()
const ds = await loadOmniglot({ path: '/work/shared/datasets/omniglot/images_background.zip', cacheDir, concurrency: conc })
console.log('cold ms', Math.round(performance.now() - t), JSON.stringify(ds.describe()))
t = performance.now()
const ds2 = await loadOmniglot({ path: '/work/shared/datasets/omniglot/images_background.zip', cacheDir })
console.log('cached ms', Math.round(performance.now() - t))
const a = ds.classes('val')[3].image(5), b = ds2.classes('val')[3].image(5)
console.log('same', a.every((v, i) => v === b[i]), 'mean ink', a.reduce((s, v) => s + v, 0) / a.length)
rmSync(cacheDir, { recursive: true })
