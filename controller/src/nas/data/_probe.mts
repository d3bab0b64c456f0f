import { readFileSync } from 'node:fs'
import { unzipSync } from 'fflate'
import sharp from 'sharp'
sharp.cache(false)
const buf = readFileSync('/work/shared/datasets/omniglot/images_background.zip')
const files = unzipSync(buf)
const pngs = Object.keys(files).filter(n => n.endsWith('.png'))
for (const [label, conc, mk] of [
  ['grey 4', 4, (b: Uint8Array) => sharp(b).greyscale().raw().toBuffer()],
  ['grey 8', 8, (b: Uint8Array) => sharp(b).greyscale().raw().toBuffer()],
  ['grey 16', 16, (b: Uint8Array) => sharp(b).greyscale().raw().toBuffer()],
  ['grey 2', 2, (b: Uint8Array) => sharp(b).greyscale().raw().toBuffer()],
  ['resize 8', 8, (b: Uint8Array) => sharp(b).greyscale().resize(28, 28).raw().toBuffer()],
] as const) {
  const t = performance.now()
  let i = 0
  const N = 3000
  async function worker() { while (i < N) { const n = pngs[i++]; await mk(files[n]) } }
  await Promise.all(Array.from({ length: conc }, worker))
  console.log(label, 'per s', Math.round(N / ((performance.now() - t) / 1000)))
}
