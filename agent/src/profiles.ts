/**
 * Hardware profiles: one JSON file per device class in hardware-profiles/ (shipped data, not
 * code). A profile says how to recognise the class, how to measure on it, and where its
 * temperature, CPU frequency and throttle flags are read. Files are validated on load.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Inventory } from '@fleetnas/shared'
import { ProfileInvalid, ProfileNotFound } from './errors.ts'

const Regex = Type.String({ minLength: 1, maxLength: 256, description: 'JavaScript regular expression, case-insensitive' })

/** A number read from a file, multiplied by `scale` (e.g. millidegrees * 0.001 = degrees C). */
const SysfsReadingSchema = Type.Object(
  { file: Type.String({ minLength: 1 }), scale: Type.Number({ default: 1 }) },
  { additionalProperties: false },
)

export const HardwareProfileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    /** All given criteria must hold; the profile with the most criteria that hold wins. */
    match: Type.Object(
      {
        /** Node's process.arch values (x64, arm64, arm). */
        arch: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
        /** Against /proc/device-tree/model (or the DMI system model). */
        deviceTreeModel: Type.Optional(Type.Array(Regex, { minItems: 1 })),
        cpuModel: Type.Optional(Type.Array(Regex, { minItems: 1 })),
      },
      { additionalProperties: false },
    ),
    measure: Type.Object(
      {
        threads: Type.Integer({ minimum: 1, maximum: 256 }),
        /** Floors for the job's warm-up settings on this class (slow devices need longer). */
        warmupRuns: Type.Integer({ minimum: 0, maximum: 10000 }),
        warmupMs: Type.Number({ minimum: 0, maximum: 60000 }),
      },
      { additionalProperties: false },
    ),
    sensors: Type.Object(
      {
        /** First readable file wins. */
        temperature: Type.Array(SysfsReadingSchema),
        frequency: Type.Array(SysfsReadingSchema),
        /** Command printing `throttled=0x...` (Raspberry Pi firmware). */
        throttleCommand: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
        /** Jetson: read one line of `tegrastats` for temperature and frequency when files fail. */
        tegrastats: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)
export type HardwareProfile = Static<typeof HardwareProfileSchema>

/** Parses and checks one profile file's text; errors name the file. */
export function parseProfile(file: string, text: string): HardwareProfile {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw ProfileInvalid(file, `not JSON: ${(e as Error).message}`)
  }
  const withDefaults = Value.Default(HardwareProfileSchema, Value.Clone(value))
  const errors = [...Value.Errors(HardwareProfileSchema, withDefaults)]
  if (errors.length > 0) throw ProfileInvalid(file, errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; '))
  const profile = withDefaults as HardwareProfile
  for (const re of [...(profile.match.deviceTreeModel ?? []), ...(profile.match.cpuModel ?? [])]) {
    try {
      new RegExp(re, 'i')
    } catch (e) {
      throw ProfileInvalid(file, `bad regular expression ${JSON.stringify(re)}: ${(e as Error).message}`)
    }
  }
  return profile
}

/** Every *.json in `dir`, validated; duplicate ids are an error. */
export async function loadProfiles(dir: string): Promise<HardwareProfile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.endsWith('.schema.json')).sort()
  const profiles: HardwareProfile[] = []
  const seen = new Map<string, string>()
  for (const name of names) {
    const file = join(dir, name)
    const profile = parseProfile(file, await readFile(file, 'utf8'))
    const earlier = seen.get(profile.id)
    if (earlier) throw ProfileInvalid(file, `id "${profile.id}" is already used by ${earlier}`)
    seen.set(profile.id, file)
    profiles.push(profile)
  }
  return profiles
}

/** How many criteria of `p` hold for `inv`; -1 when one fails. */
export function profileScore(p: HardwareProfile, inv: Pick<Inventory, 'arch' | 'model' | 'cpuModel'>): number {
  let score = 0
  const { arch, deviceTreeModel, cpuModel } = p.match
  if (arch) {
    if (!arch.includes(inv.arch)) return -1
    score++
  }
  if (deviceTreeModel) {
    if (!deviceTreeModel.some((re) => new RegExp(re, 'i').test(inv.model))) return -1
    score++
  }
  if (cpuModel) {
    if (!cpuModel.some((re) => new RegExp(re, 'i').test(inv.cpuModel))) return -1
    score++
  }
  return score
}

/**
 * Pure: the most specific profile whose criteria all hold (ties go to the earlier id), or the
 * profile with no criteria (generic) as the fallback. `override` forces a profile by id.
 */
export function matchProfile(
  inv: Pick<Inventory, 'arch' | 'model' | 'cpuModel'>,
  profiles: readonly HardwareProfile[],
  override?: string,
): HardwareProfile {
  const known = profiles.map((p) => p.id)
  if (override !== undefined) {
    const forced = profiles.find((p) => p.id === override)
    if (!forced) throw ProfileNotFound(override, known)
    return forced
  }
  let best: HardwareProfile | undefined
  let bestScore = -1
  for (const p of [...profiles].sort((a, b) => a.id.localeCompare(b.id))) {
    const s = profileScore(p, inv)
    if (s > bestScore) {
      best = p
      bestScore = s
    }
  }
  if (!best) throw ProfileNotFound('(any matching)', known)
  return best
}

/** The profile schema as a JSON Schema document (hardware-profiles/profile.schema.json). */
export function profileJsonSchema(): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'fleetnas hardware profile', ...HardwareProfileSchema }, null, 2)}\n`
}
