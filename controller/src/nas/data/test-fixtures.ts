/**
 * Test helper: writes small real image files with sharp. Image of class k: a dark block on a
 * light background whose position and colour depend on k, so classes are told apart after any
 * resize. Not a test file itself (no .test suffix).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'

export type FixtureFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff'

export async function classImage(k: number, width: number, height: number, format: FixtureFormat, variant = 0): Promise<Buffer> {
  const px = new Uint8Array(width * height * 3).fill(235)
  const colour = [(k * 70) % 200, (k * 130) % 200, (k * 40) % 200]
  const bx = Math.floor(((k % 3) * width) / 3)
  const by = Math.floor(((Math.floor(k / 3) % 3) * height) / 3)
  const shift = variant % 3
  for (let y = by + shift; y < Math.min(height, by + height / 3 + shift); y++) {
    for (let x = bx; x < Math.min(width, bx + width / 3); x++) px.set(colour, (y * width + x) * 3)
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer()
}

const FORMATS: FixtureFormat[] = ['png', 'jpeg', 'webp', 'gif', 'tiff']
const EXT: Record<FixtureFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', gif: 'gif', tiff: 'tif' }

/** `<root>/<class-k>/img<i>.<ext>` with formats and sizes varying per image; returns class names. */
export async function writeClassFolders(root: string, classes: number, perClass: number): Promise<string[]> {
  const names: string[] = []
  for (let k = 0; k < classes; k++) {
    const name = `class-${k}`
    names.push(name)
    mkdirSync(join(root, name), { recursive: true })
    for (let i = 0; i < perClass; i++) {
      const format = FORMATS[(k + i) % FORMATS.length]
      const [w, h] = [[30, 30], [64, 48], [105, 105], [40, 90]][(k * 3 + i) % 4]
      writeFileSync(join(root, name, `img${i}.${EXT[format]}`), await classImage(k, w, h, format, i))
    }
  }
  return names
}
