/**
 * The file framing every fleetnas checkpoint shares: an 8-byte magic, a uint32 (LE) header length,
 * the JSON header, then float32 arrays of `count` values each (parameters, Adam's m and v) from the
 * next 4-byte boundary. Each format checks its own header; this module only frames.
 */

export interface FramedFloats<H> {
  header: H
  /** The arrays, copied out (the file buffer may be unaligned and is not ours to keep). */
  arrays: Float32Array[]
}

export function encodeFrame(magic: string, header: object, arrays: readonly Float32Array[], count: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const start = Math.ceil((12 + json.length) / 4) * 4
  const bytes = new Uint8Array(start + arrays.length * count * 4)
  bytes.set(Buffer.from(magic, 'latin1'), 0)
  new DataView(bytes.buffer).setUint32(8, json.length, true)
  bytes.set(json, 12)
  const floats = new Float32Array(bytes.buffer, start, arrays.length * count)
  arrays.forEach((a, i) => floats.set(a, i * count))
  return bytes
}

/**
 * Reads the header (`fail` names what is wrong: bad magic, truncated, not JSON), lets `check`
 * validate it and say how many values each of the `arrays` holds, then reads them.
 */
export function decodeFrame<H>(bytes: Uint8Array, magic: string, arrays: number, check: (header: H) => number, fail: (why: string) => Error): FramedFloats<H> {
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== magic) throw fail('bad magic')
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true)
  if (12 + len > bytes.length) throw fail('truncated header')
  let header: H
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString('utf8')) as H
  } catch (e) {
    throw fail(`header is not JSON: ${(e as Error).message}`)
  }
  const n = check(header)
  const start = Math.ceil((12 + len) / 4) * 4
  if (bytes.length !== start + arrays * n * 4) throw fail(`expected ${start + arrays * n * 4} bytes, found ${bytes.length}`)
  const copy = new Uint8Array(bytes.length - start)
  copy.set(bytes.subarray(start))
  const floats = new Float32Array(copy.buffer)
  return { header, arrays: Array.from({ length: arrays }, (_, i) => floats.slice(i * n, (i + 1) * n)) }
}
