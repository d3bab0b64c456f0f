/**
 * Which machine an ELF file is built for, from its header (e_machine at byte 18), so a bundle can be
 * checked for native files of the wrong architecture without running them.
 */
import { open } from 'node:fs/promises'

/** e_machine values of the architectures we bundle, by Node's arch names. */
const MACHINES: Record<number, string> = { 62: 'x64', 183: 'arm64', 40: 'arm', 3: 'ia32' }

/** Node's arch name for an ELF header, 'unknown-<n>' for other machines, or undefined if not ELF. */
export function elfArch(header: Uint8Array): string | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined
  const littleEndian = header[5] === 1
  const machine = littleEndian ? header[18]! | (header[19]! << 8) : (header[18]! << 8) | header[19]!
  return MACHINES[machine] ?? `unknown-${machine}`
}

export async function fileElfArch(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r')
  try {
    const buf = new Uint8Array(20)
    const { bytesRead } = await fh.read(buf, 0, 20, 0)
    return elfArch(buf.subarray(0, bytesRead))
  } finally {
    await fh.close()
  }
}

/** Files a loader maps: Node addons and shared libraries (libfoo.so, libfoo.so.1). */
export const isNativeFile = (name: string): boolean => /\.node$|\.so(\.\d+)*$|\.dylib$|\.dll$/.test(name)
