/**
 * The oracles in this folder (a float64 reference network, the tfjs network, finite differences)
 * check the engine; they are not part of it. Product code must not import them: tfjs is only a
 * dev dependency, and a slow reference path must never be picked up by mistake.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const SRC = fileURLToPath(new URL('../../../', import.meta.url)) // controller/src
const HERE = fileURLToPath(new URL('.', import.meta.url))

async function sources(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await sources(p)))
    else if (/\.(ts|tsx|js)$/.test(e.name)) out.push(p)
  }
  return out
}

t.test('only tests and test support import the oracles', async (t) => {
  const files = (await sources(SRC)).filter((f) => !f.startsWith(HERE) && !f.endsWith('.test.ts') && !relative(SRC, f).startsWith('testing/'))
  t.ok(files.length > 50, `${files.length} product files checked`)
  const offenders: string[] = []
  for (const f of files) if (/from\s+['"][^'"]*\/oracles\//.test(await readFile(f, 'utf8'))) offenders.push(relative(SRC, f))
  t.same(offenders, [], 'no product file imports from nas/engine/oracles')
})
