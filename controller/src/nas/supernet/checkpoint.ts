/**
 * Supernet checkpoints: one file, `FNASSUP1` magic, a little-endian u32 header length, a JSON
 * header (search space, config, iteration, shared-weight layout, metrics, validation history), zero
 * padding to a 4-byte boundary, then raw little-endian float32 arrays: shared weights, Adam m,
 * Adam v. Written atomically (maml/checkpoint.ts writeFileAtomic). The layout in the header is
 * checked on load against the one the space gives, so weights are never read under wrong names.
 */
import { readFile } from 'node:fs/promises'
import type { SearchSpace } from '@fleetnas/shared'
import type { AdamState } from '../maml/adam.ts'
import { writeFileAtomic } from '../maml/checkpoint.ts'
import type { SupernetConfig } from './config.ts'
import { SupernetCheckpointInvalid } from './errors.ts'
import { supernetLayout } from './supernet-layout.ts'
import type { SubnetRole } from './sandwich.ts'

/** Few-shot accuracy of some sub-networks at one point of training. */
export interface SupernetValidation {
  iteration: number
  way: number
  tasks: number
  subnets: { role: SubnetRole; architectureId: string; accuracy: number; ci95: number }[]
}

export interface SupernetCheckpoint {
  space: SearchSpace
  config: SupernetConfig
  /** Meta-iterations completed. */
  iteration: number
  /** Shared weights (supernet-layout.ts). */
  params: Float32Array
  adam: AdamState
  /** Mean query loss and accuracy of the last completed iteration. */
  metrics?: { loss: number; accuracy: number }
  validation?: SupernetValidation[]
  /** Meta-training wall time over all sessions of the run, validation excluded. */
  trainMs?: number
  savedAt?: string
}

const MAGIC = 'FNASSUP1'
const FORMAT = 'fleetnas-supernet-checkpoint'
const FORMAT_VERSION = 1

interface Header {
  format: typeof FORMAT
  version: number
  space: SearchSpace
  config: SupernetConfig
  iteration: number
  adamStep: number
  metrics?: SupernetCheckpoint['metrics']
  validation?: SupernetValidation[]
  trainMs?: number
  savedAt: string
  layout: { name: string; dims: number[]; offset: number }[]
  paramCount: number
}

export function encodeSupernetCheckpoint(ck: SupernetCheckpoint): Uint8Array {
  const layout = supernetLayout(ck.space)
  const n = layout.size
  for (const [what, a] of [['params', ck.params], ['adam.m', ck.adam.m], ['adam.v', ck.adam.v]] as const)
    if (a.length !== n) throw SupernetCheckpointInvalid('(in memory)', `${what} holds ${a.length} values, the supernet has ${n}`)
  const header: Header = {
    format: FORMAT,
    version: FORMAT_VERSION,
    space: ck.space,
    config: ck.config,
    iteration: ck.iteration,
    adamStep: ck.adam.t,
    metrics: ck.metrics,
    validation: ck.validation,
    trainMs: ck.trainMs,
    savedAt: new Date().toISOString(),
    layout: layout.entries.map((e) => ({ name: e.name, dims: e.dims, offset: e.offset })),
    paramCount: n,
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const start = Math.ceil((12 + json.length) / 4) * 4
  const bytes = new Uint8Array(start + 3 * n * 4)
  bytes.set(Buffer.from(MAGIC, 'latin1'), 0)
  new DataView(bytes.buffer).setUint32(8, json.length, true)
  bytes.set(json, 12)
  const floats = new Float32Array(bytes.buffer, start, 3 * n)
  floats.set(ck.params, 0)
  floats.set(ck.adam.m, n)
  floats.set(ck.adam.v, 2 * n)
  return bytes
}

export function decodeSupernetCheckpoint(bytes: Uint8Array, path = '(buffer)'): SupernetCheckpoint {
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) throw SupernetCheckpointInvalid(path, 'bad magic')
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true)
  if (12 + len > bytes.length) throw SupernetCheckpointInvalid(path, 'truncated header')
  let header: Header
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString('utf8')) as Header
  } catch (e) {
    throw SupernetCheckpointInvalid(path, `header is not JSON: ${(e as Error).message}`)
  }
  if (header.format !== FORMAT || header.version !== FORMAT_VERSION) throw SupernetCheckpointInvalid(path, `unsupported format ${header.format} v${header.version}`)
  const layout = supernetLayout(header.space)
  if (layout.size !== header.paramCount || layout.entries.some((e, i) => e.name !== header.layout[i]?.name || e.offset !== header.layout[i]?.offset))
    throw SupernetCheckpointInvalid(path, 'shared-weight layout does not match its search space')
  const n = header.paramCount
  const start = Math.ceil((12 + len) / 4) * 4
  if (bytes.length !== start + 3 * n * 4) throw SupernetCheckpointInvalid(path, `expected ${start + 3 * n * 4} bytes, found ${bytes.length}`)
  // Copy out: the file buffer may be unaligned and is not ours to keep (and a Buffer's slice is a view).
  const copy = new Uint8Array(bytes.length - start)
  copy.set(bytes.subarray(start))
  const floats = new Float32Array(copy.buffer)
  return {
    space: header.space,
    config: header.config,
    iteration: header.iteration,
    params: floats.slice(0, n),
    adam: { m: floats.slice(n, 2 * n), v: floats.slice(2 * n, 3 * n), t: header.adamStep },
    metrics: header.metrics,
    validation: header.validation,
    trainMs: header.trainMs,
    savedAt: header.savedAt,
  }
}

export async function saveSupernetCheckpoint(path: string, ck: SupernetCheckpoint): Promise<void> {
  await writeFileAtomic(path, encodeSupernetCheckpoint(ck))
}

export async function loadSupernetCheckpoint(path: string): Promise<SupernetCheckpoint> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    throw SupernetCheckpointInvalid(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message)
  }
  return decodeSupernetCheckpoint(bytes, path)
}
