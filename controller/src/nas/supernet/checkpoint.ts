/**
 * Supernet checkpoints: one file, `FNASSUP1` magic, a little-endian u32 header length, a JSON
 * header (search space, config, iteration, shared-weight layout, metrics, validation history), zero
 * padding to a 4-byte boundary, then raw little-endian float32 arrays: shared weights, Adam m,
 * Adam v. Written atomically (shared/src/atomic-file.ts). The layout in the header is
 * checked on load against the one the space gives, so weights are never read under wrong names.
 */
import { readFile } from 'node:fs/promises'
import { writeFileAtomic, type SearchSpace } from '@fleetnas/shared'
import type { AdamState } from '../maml/adam.ts'
import type { SupernetConfig } from './config.ts'
import { SupernetCheckpointInvalid } from './errors.ts'
import { supernetLayout } from './supernet-layout.ts'
import type { SubnetRole } from './sandwich.ts'
import { decodeFrame, encodeFrame } from '../maml/checkpoint-frame.ts'

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
  return encodeFrame(MAGIC, header, [ck.params, ck.adam.m, ck.adam.v], n)
}

export function decodeSupernetCheckpoint(bytes: Uint8Array, path = '(buffer)'): SupernetCheckpoint {
  const { header, arrays } = decodeFrame<Header>(
    bytes,
    MAGIC,
    3,
    (h) => {
      if (h.format !== FORMAT || h.version !== FORMAT_VERSION) throw SupernetCheckpointInvalid(path, `unsupported format ${h.format} v${h.version}`)
      const layout = supernetLayout(h.space)
      if (layout.size !== h.paramCount || layout.entries.some((e, i) => e.name !== h.layout[i]?.name || e.offset !== h.layout[i]?.offset))
        throw SupernetCheckpointInvalid(path, 'shared-weight layout does not match its search space')
      return h.paramCount
    },
    (why) => SupernetCheckpointInvalid(path, why),
  )
  const [params, m, v] = arrays
  return {
    space: header.space,
    config: header.config,
    iteration: header.iteration,
    params,
    adam: { m, v, t: header.adamStep },
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
