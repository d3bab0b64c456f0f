/**
 * Resident memory and CPU time of a process, read from Linux /proc: VmRSS from
 * /proc/<pid>/status and utime + stime (fields 14 and 15) from /proc/<pid>/stat.
 */
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** VmRSS in MB (10^6 bytes) from the text of /proc/<pid>/status. */
export function parseVmRssMB(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (!m) throw new Error('no VmRSS line in /proc status (is this Linux, is the process alive?)')
  return (Number(m[1]) * 1024) / 1e6
}

/** utime + stime in clock ticks from the text of /proc/<pid>/stat. */
export function parseCpuTicks(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[14 - 3])
  const stime = Number(rest[15 - 3])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc stat format')
  return utime + stime
}

let ticksPerSecond: number | undefined
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

export async function rssMB(pid: number): Promise<number> {
  return parseVmRssMB(await readFile(`/proc/${pid}/status`, 'utf8'))
}

export async function cpuSeconds(pid: number): Promise<number> {
  return parseCpuTicks(await readFile(`/proc/${pid}/stat`, 'utf8')) / clockTicksPerSecond()
}

export interface IdleUsage {
  /** VmRSS at the end of the window, and the largest seen during it. */
  rssMB: number
  peakRssMB: number
  /** CPU time over the window as a percentage of one core. */
  cpuPercent: number
  windowS: number
}

/** Watches `pid` for `windowMs`, sampling RSS every second; CPU from the stat delta over the window. */
export async function idleUsage(pid: number, windowMs: number): Promise<IdleUsage> {
  const cpu0 = await cpuSeconds(pid)
  const t0 = performance.now()
  let peak = await rssMB(pid)
  while (performance.now() - t0 < windowMs) {
    await new Promise((r) => setTimeout(r, Math.min(1000, windowMs - (performance.now() - t0))))
    peak = Math.max(peak, await rssMB(pid))
  }
  const cpu1 = await cpuSeconds(pid)
  const windowS = (performance.now() - t0) / 1000
  const rss = await rssMB(pid)
  return { rssMB: rss, peakRssMB: Math.max(peak, rss), cpuPercent: (100 * (cpu1 - cpu0)) / windowS, windowS }
}
