import { readFileSync } from 'node:fs'
import { unzipSync } from 'fflate'
import sharp from 'sharp'
sharp.cache(false)
const buf = readFileSync('/work/shared/datasets/omniglot/images_background.zip')
const files = unzipSync(buf)
const pngs = Object.keys(files).filter(n => n.endsWith('.png'))
for (const B of [20, 50, 100]) {
  for (const conc of [2, 4]) {
  const t = performance.now()
  let i = 0
  const N = 6000
  let info: any
  async function worker() { while (i < N) { const batch = pngs.slice(i, i + B); i += B; const r = await sharp(batch.map(n => files[n]), { join: { across: B } } as any).greyscale().raw().toBuffer({ resolveWithObject: true }); info = r.info } }
  await Promise.all(Array.from({ length: conc }, worker))
  console.log(B, conc, 'per s', Math.round(N / ((performance.now() - t) / 1000)), info.width, info.height, info.channels)
  }
}
// correctness check: first image equals individual decode
const a = await sharp(files[pngs[1]]).greyscale().raw().toBuffer()
const j = await sharp([files[pngs[0]], files[pngs[1]]], { join: { across: 2 } } as any).greyscale().raw().toBuffer({ resolveWithObject: true })
let diff = 0
for (let y = 0; y < 105; y++) for (let x = 0; x < 105; x++) if (a[y * 105 + x] !== j.data[y * 210 + 105 + x]) diff++
console.log('diff', diff, j.info)
