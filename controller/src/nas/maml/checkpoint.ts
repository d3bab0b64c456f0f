/**
 * Meta-training checkpoints: one file, `FNASCKP1` magic, a little-endian u32 header length, a JSON
 * header (architecture, config, iteration, parameter layout, metrics), zero padding to a 4-byte
 * boundary, then raw little-endian float32 arrays: params, Adam m, Adam v. Written to a temporary
 * file in the same folder, fsynced, then renamed over the target, so a crash never leaves a torn
 * checkpoint behind.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { architectureId, type Architecture } from '@fleetnas/shared'
import type { SpaceIO } from '../engine/param-layout.ts'
import { createNetwork } from '../engine/engine.ts'
import type { AdamState } from './adam.ts'
import type { MamlConfig } from './config.ts'
import { CheckpointInvalid } from './errors.ts'

export interface Checkpoint {
  architectureId: string
  arch: Architecture
  space: SpaceIO
  config: MamlConfig
  /** Meta-iterations completed. */
  iteration: number
  params: Float32Array
  adam: AdamState
  /** Mean query loss and accuracy of the last completed iteration. */
  metrics?: { loss: number; accuracy: number }
  savedAt?: string
}

const MAGIC = 'FNASCKP1'
const FORMAT_VERSION = 1

interface Header {
  format: 'fleetnas-maml-checkpoint'
  version: number
  architectureId: string
  arch: Architecture
  space: SpaceIO
  config: MamlConfig
  iteration: number
  adamStep: number
  metrics?: { loss: number; accuracy: number }
  savedAt: string
  /** Parameter names, dims and offsets, checked on load against the architecture's layout. */
  layout: { name: string; dims: number[]; offset: number }[]
  paramCount: number
}

export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const layout = createNetwork(ck.arch, ck.space).layout
  const header: Header = {
    format: 'fleetnas-maml-checkpoint',
    version: FORMAT_VERSION,
    architectureId: architectureId(ck.arch),
    arch: ck.arch,
    space: ck.space,
    config: ck.config,
    iteration: ck.iteration,
    adamStep: ck.adam.t,
    metrics: ck.metrics,
    savedAt: new Date().toISOString(),
    layout: layout.entries.map((e) => ({ name: e.name, dims: e.dims, offset: e.offset })),
    paramCount: layout.size,
  }
  for (const [what, a] of [['params', ck.params], ['adam.m', ck.adam.m], ['adam.v', ck.adam.v]] as const)
    if (a.length !== layout.size) throw CheckpointInvalid('(in memory)', `${what} holds ${a.length} values, the architecture has ${layout.size}`)
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const start = Math.ceil((8 + 4 + json.length) / 4) * 4
  const bytes = new Uint8Array(start + 3 * layout.size * 4)
  bytes.set(Buffer.from(MAGIC, 'latin1'), 0)
  new DataView(bytes.buffer).setUint32(8, json.length, true)
  bytes.set(json, 12)
  const floats = new Float32Array(bytes.buffer, start, 3 * layout.size)
  floats.set(ck.params, 0)
  floats.set(ck.adam.m, layout.size)
  floats.set(ck.adam.v, 2 * layout.size)
  return bytes
}

export function decodeCheckpoint(bytes: Uint8Array, path = '(buffer)'): Checkpoint {
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) throw CheckpointInvalid(path, 'bad magic')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const len = view.getUint32(8, true)
  if (12 + len > bytes.length) throw CheckpointInvalid(path, 'truncated header')
  let header: Header
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString('utf8')) as Header
  } catch (e) {
    throw CheckpointInvalid(path, `header is not JSON: ${(e as Error).message}`)
  }
  if (header.format !== 'fleetnas-maml-checkpoint' || header.version !== FORMAT_VERSION)
    throw CheckpointInvalid(path, `unsupported format ${header.format} v${header.version}`)
  const layout = createNetwork(header.arch, header.space).layout
  if (layout.size !== header.paramCount || layout.entries.some((e, i) => e.name !== header.layout[i]?.name || e.offset !== header.layout[i]?.offset))
    throw CheckpointInvalid(path, `parameter layout does not match architecture ${header.architectureId}`)
  const start = Math.ceil((12 + len) / 4) * 4
  const n = header.paramCount
  if (bytes.length !== start + 3 * n * 4) throw CheckpointInvalid(path, `expected ${start + 3 * n * 4} bytes, found ${bytes.length}`)
  // Copy out: the file buffer may be unaligned and is not ours to keep.
  const copy = new Uint8Array(bytes.length - start)
  copy.set(bytes.subarray(start))
  const floats = new Float32Array(copy.buffer)
  return {
    architectureId: header.architectureId,
    arch: header.arch,
    space: header.space,
    config: header.config,
    iteration: header.iteration,
    params: floats.slice(0, n),
    adam: { m: floats.slice(n, 2 * n), v: floats.slice(2 * n, 3 * n), t: header.adamStep },
    metrics: header.metrics,
    savedAt: header.savedAt,
  }
}

/** Writes atomically: temp file in the same folder, fsync, rename. */
export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ck))
}

/** Writes `bytes` to `path` so a crash leaves the old file or the whole new one: temp file in the same folder, fsync, rename. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`)
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(bytes)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    throw CheckpointInvalid(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message)
  }
  return decodeCheckpoint(bytes, path)
}
