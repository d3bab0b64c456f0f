/**
 * Turns a campaign request into what gets stored: its targets (explicit blocks, the default search
 * space, optionally a seeded sample of those; architectures by id and a seeded calibration set,
 * with their blocks unless told otherwise) and one execution per (device, runtime, threads) over
 * the target devices known now. Pure apart from reading devices; throws catalogue errors.
 */
import {
  architectureBlocks,
  architectureId,
  blockKey,
  calibrationArchitectures,
  checkBlock,
  createRng,
  isFleetnasError,
  parseArchitectureId,
  spaceBlockKeys,
  type Architecture,
  type RuntimeName,
} from '@fleetnas/shared'
import type { Device } from '../store/devices.ts'
import type { CampaignKey } from '../store/campaigns.ts'
import { CampaignArchitectureInvalid, CampaignBlockInvalid, CampaignNoBlocks, CampaignNoTargets, CampaignUnknownDevice } from '../errors.ts'
import type { CampaignInput } from './input.ts'

function requestedArchitectures(input: CampaignInput): Architecture[] {
  const archs = new Map<string, Architecture>()
  input.architectures?.forEach((id, i) => {
    try {
      archs.set(id, parseArchitectureId(id))
    } catch (e) {
      if (isFleetnasError(e)) throw CampaignArchitectureInvalid(`architectures/${i}: ${e.message}`)
      throw e
    }
  })
  if (input.calibration) for (const a of calibrationArchitectures(input.calibration.count, input.calibration.seed ?? 1)) archs.set(architectureId(a), a)
  return [...archs.values()]
}

/** Explicit blocks, plus the space's keys or a seeded sample of them (`sample` samples the space; with no space, the blocks). */
function sampledBlockKeys(input: CampaignInput): string[] {
  const explicit = new Set<string>()
  input.blocks?.forEach((b, i) => {
    try {
      explicit.add(blockKey(checkBlock(b)))
    } catch (e) {
      if (isFleetnasError(e)) throw CampaignBlockInvalid(`blocks/${i}: ${e.message}`)
      throw e
    }
  })
  const sample = (list: string[]) => {
    if (input.sample === undefined || input.sample >= list.length) return list
    const order = new Map(list.map((k, i) => [k, i]))
    return createRng(input.seed ?? 1)
      .shuffle([...list])
      .slice(0, input.sample)
      .sort((a, b) => order.get(a)! - order.get(b)!)
  }
  if (input.searchSpace !== 'default') return sample([...explicit])
  return [...new Set([...explicit, ...sample(spaceBlockKeys())])]
}

export function planKeys(input: CampaignInput): CampaignKey[] {
  if (input.blocks === undefined && input.searchSpace === undefined && input.architectures === undefined && input.calibration === undefined)
    throw CampaignNoBlocks('give `blocks` (block specs), `searchSpace: "default"`, `architectures` (ids) or `calibration: {count, seed}`')
  const archs = requestedArchitectures(input)
  const blocks = new Set(sampledBlockKeys(input))
  if (input.architectureBlocks !== false) for (const a of archs) for (const b of architectureBlocks(a)) blocks.add(blockKey(b))
  if (blocks.size === 0 && archs.length === 0) throw CampaignNoBlocks('`blocks` and `architectures` are empty')
  return [
    ...[...blocks].map((key): CampaignKey => ({ kind: 'block', key })),
    ...archs.map((a): CampaignKey => ({ kind: 'architecture', key: architectureId(a) })),
  ]
}

export interface PlannedExecution {
  deviceId: string
  runtime: RuntimeName
  threads: number
}

export interface DeviceLookup {
  get(id: string): Device | undefined
  listByProfile(profile: string): Device[]
}

export function planExecutions(input: CampaignInput, devices: DeviceLookup): PlannedExecution[] {
  const named = input.targets.devices ?? []
  const profiles = input.targets.hardwareProfiles ?? []
  if (named.length === 0 && profiles.length === 0) throw CampaignNoTargets('`targets` names no devices and no hardwareProfiles')
  const unknown = named.filter((id) => devices.get(id) === undefined)
  if (unknown.length > 0) throw CampaignUnknownDevice(unknown)
  const targets = new Map<string, Device>()
  for (const id of named) targets.set(id, devices.get(id)!)
  for (const p of profiles) for (const d of devices.listByProfile(p)) targets.set(d.id, d)
  if (targets.size === 0) throw CampaignNoTargets(`no known device has hardware profile ${profiles.join(' or ')}`)

  const runtimes: RuntimeName[] = input.runtimes ?? ['onnxruntime']
  const planned: PlannedExecution[] = []
  for (const d of targets.values()) {
    for (const runtime of runtimes) {
      // A device that has not said what it runs (no info yet) gets the job and may reject it.
      if (d.runtimes.length > 0 && !d.runtimes.some((r) => r.name === runtime)) continue
      for (const threads of input.threads ?? [d.threads ?? 1]) planned.push({ deviceId: d.id, runtime, threads })
    }
  }
  if (planned.length === 0) throw CampaignNoTargets(`no target device reports runtime ${runtimes.join(' or ')}`)
  return planned
}
