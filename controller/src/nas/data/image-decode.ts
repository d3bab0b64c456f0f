/**
 * Turning image bytes into packed planar [C,H,W] bytes with sharp. Two decoders:
 * - `decodeCharacter` for Omniglot-style scans: grey, exact area resize (keeps thin 1-bit strokes
 *   as partial coverage), inverted so ink = 1;
 * - `decodePicture` for any image sharp reads: EXIF orientation applied, alpha flattened on white,
 *   resized with sharp (lanczos3) to the dataset size, grey or RGB, optionally inverted.
 * Any failure is a FLEETNAS_ERR_DATA_IMAGE_UNREADABLE naming the file.
 */
import sharp from 'sharp'
import { DataImageUnreadable } from './errors.ts'
import { areaResize, interleavedToPlanar, unitToBytes } from './image-ops.ts'

export type ResizeFit = 'fill' | 'cover' | 'contain'
/** 'auto' inverts an image whose mean is light (dark strokes on light paper become ink = 1). */
export type InvertMode = boolean | 'auto'

export interface PictureDecodeOptions {
  width: number
  height: number
  channels: 1 | 3
  fit: ResizeFit
  invert: InvertMode
}

export async function decodeCharacter(bytes: Uint8Array, file: string, width: number, height: number): Promise<Uint8Array> {
  let raw: { data: Buffer; info: sharp.OutputInfo }
  try {
    raw = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true })
  } catch (e) {
    throw DataImageUnreadable(file, (e as Error).message)
  }
  const { width: sw, height: sh, channels } = raw.info
  if (channels !== 1) throw DataImageUnreadable(file, `expected 1 grey channel after conversion, got ${channels}`)
  const small = areaResize(raw.data, sw, sh, width, height)
  for (let i = 0; i < small.length; i++) small[i] = 1 - small[i] / 255
  const out = new Uint8Array(small.length)
  unitToBytes(small, out, 0)
  return out
}

export async function decodePicture(bytes: Uint8Array, file: string, opts: PictureDecodeOptions): Promise<Uint8Array> {
  const { width, height, channels } = opts
  let raw: { data: Buffer; info: sharp.OutputInfo }
  try {
    let pipeline = sharp(bytes)
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(width, height, { fit: opts.fit, background: '#ffffff' })
    pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb')
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true })
  } catch (e) {
    throw DataImageUnreadable(file, (e as Error).message)
  }
  const { info, data } = raw
  if (info.width !== width || info.height !== height) {
    throw DataImageUnreadable(file, `resized to ${info.width}x${info.height}, expected ${width}x${height}`)
  }
  const pixels = width * height
  let interleaved: Uint8Array = data
  if (info.channels !== channels) {
    // sharp keeps grey inputs 1-channel under toColourspace('srgb') on some formats: widen them.
    if (info.channels === 1 && channels === 3) {
      interleaved = new Uint8Array(pixels * 3)
      for (let p = 0; p < pixels; p++) interleaved[3 * p] = interleaved[3 * p + 1] = interleaved[3 * p + 2] = data[p]
    } else {
      throw DataImageUnreadable(file, `expected ${channels} channel(s) after conversion, got ${info.channels}`)
    }
  }
  const out = new Uint8Array(pixels * channels)
  interleavedToPlanar(interleaved, channels, pixels, out, 0)
  if (shouldInvert(opts.invert, out)) for (let i = 0; i < out.length; i++) out[i] = 255 - out[i]
  return out
}

function shouldInvert(mode: InvertMode, pixels: Uint8Array): boolean {
  if (mode !== 'auto') return mode
  let sum = 0
  for (let i = 0; i < pixels.length; i++) sum += pixels[i]
  return sum / pixels.length > 127.5
}
