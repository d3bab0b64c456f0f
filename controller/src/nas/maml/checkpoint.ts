/**
 * Meta-training checkpoints: one file, `FNASCKP1` magic, a little-endian u32 header length, a JSON
 * header (architecture, config, iteration, parameter layout, metrics), zero padding to a 4-byte
 * boundary, then raw little-endian float32 arrays: params, Adam m, Adam v. Written by the one
 * atomic write (shared/src/atomic-file.ts), so a crash never leaves a torn checkpoint behind.
 */
import { readFile } from 'node:fs/promises'
import { architectureId, writeFileAtomic, type Architecture } from '@fleetnas/shared'
import type { SpaceIO } from '../engine/param-layout.ts'
import { createNetwork } from '../engine/engine.ts'
import type { AdamState } from './adam.ts'
import type { MamlConfig } from './config.ts'
import { CheckpointInvalid } from './errors.ts'
import { decodeFrame, encodeFrame } from './checkpoint-frame.ts'

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
  return encodeFrame(MAGIC, header, [ck.params, ck.adam.m, ck.adam.v], layout.size)
}

export function decodeCheckpoint(bytes: Uint8Array, path = '(buffer)'): Checkpoint {
  const { header, arrays } = decodeFrame<Header>(
    bytes,
    MAGIC,
    3,
    (h) => {
      if (h.format !== 'fleetnas-maml-checkpoint' || h.version !== FORMAT_VERSION) throw CheckpointInvalid(path, `unsupported format ${h.format} v${h.version}`)
      const layout = createNetwork(h.arch, h.space).layout
      if (layout.size !== h.paramCount || layout.entries.some((e, i) => e.name !== h.layout[i]?.name || e.offset !== h.layout[i]?.offset))
        throw CheckpointInvalid(path, `parameter layout does not match architecture ${h.architectureId}`)
      return h.paramCount
    },
    (why) => CheckpointInvalid(path, why),
  )
  const [params, m, v] = arrays
  return {
    architectureId: header.architectureId,
    arch: header.arch,
    space: header.space,
    config: header.config,
    iteration: header.iteration,
    params,
    adam: { m, v, t: header.adamStep },
    metrics: header.metrics,
    savedAt: header.savedAt,
  }
}

/** Writes atomically (a crash leaves the old checkpoint or the whole new one). */
export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ck))
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
