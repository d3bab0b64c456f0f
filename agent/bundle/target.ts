/**
 * What a bundle is built for: a Linux machine's platform and CPU architecture as Node names them
 * (process.platform, process.arch), and the measuring runtimes it carries. Parsing is pure and
 * reports every problem at once.
 */
import { BundleOptionsInvalid } from './errors.ts'

/** The install script is bash + systemd: Linux only. onnxruntime-node ships CPU binaries for both. */
export const PLATFORMS = ['linux'] as const
export const ARCHES = ['x64', 'arm64'] as const
/** onnxruntime is the deployment runtime and always included; tfjs is optional. */
export const RUNTIMES = ['onnxruntime', 'tfjs'] as const

export type Platform = (typeof PLATFORMS)[number]
export type Arch = (typeof ARCHES)[number]
export type BundleRuntime = (typeof RUNTIMES)[number]

export interface BundleTargetInput {
  platform?: string
  arch?: string
  /** Comma-separated, e.g. "onnxruntime" or "onnxruntime,tfjs". */
  runtimes?: string
}

export interface BundleTarget {
  platform: Platform
  arch: Arch
  runtimes: BundleRuntime[]
}

const isOneOf = <T extends string>(list: readonly T[], v: string): v is T => (list as readonly string[]).includes(v)

/** Defaults: this machine's platform and arch, both runtimes. */
export function resolveBundleTarget(input: BundleTargetInput, host = { platform: process.platform as string, arch: process.arch as string }): BundleTarget {
  const problems: string[] = []
  const platform = input.platform ?? host.platform
  const arch = input.arch ?? host.arch
  if (!isOneOf(PLATFORMS, platform)) problems.push(`--platform ${platform}: one of ${PLATFORMS.join(', ')} (the install script is for Linux with systemd)`)
  if (!isOneOf(ARCHES, arch)) problems.push(`--arch ${arch}: one of ${ARCHES.join(', ')} (x64 for PCs, arm64 for a Raspberry Pi 4/5 or a Jetson with a 64-bit OS)`)
  const runtimes: BundleRuntime[] = []
  for (const r of (input.runtimes ?? RUNTIMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isOneOf(RUNTIMES, r)) problems.push(`--runtimes: unknown runtime ${r} (known: ${RUNTIMES.join(', ')})`)
    else if (!runtimes.includes(r)) runtimes.push(r)
  }
  if (input.runtimes !== undefined && !runtimes.includes('onnxruntime'))
    problems.push('--runtimes must include onnxruntime (the deployment runtime; tfjs is the optional one)')
  if (problems.length > 0) throw BundleOptionsInvalid(problems)
  return { platform: platform as Platform, arch: arch as Arch, runtimes: RUNTIMES.filter((r) => runtimes.includes(r)) }
}

export const targetName = (t: Pick<BundleTarget, 'platform' | 'arch'>): string => `${t.platform}-${t.arch}`
