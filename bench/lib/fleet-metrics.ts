/**
 * What bench:fleet reads from the controller while it runs: one /metrics scrape per poll (a scrape
 * counts the stored rows, so three scrapes per poll were three table counts on the controller's
 * CPU), the process's memory as the controller itself sees it (process.memoryUsage(): JavaScript
 * heap, external memory, array buffers) and the kernel's high-water mark of its resident memory.
 */
import { readFile } from 'node:fs/promises'
import type { ApiClient } from '../../controller/src/cli/api-client.ts'

/** Metric lines by `name{labels}`, as printed. */
export type Scrape = Map<string, number>

export async function scrape(api: ApiClient): Promise<Scrape> {
  const text = await api.requestText('GET', '/metrics')
  const out: Scrape = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** A value, NaN when the controller does not print it. */
export const value = (s: Scrape, name: string, labels = ''): number => s.get(`${name}${labels}`) ?? NaN

/** The controller's memory by kind, in MB (10^6 bytes), from fleetnas_process_memory_bytes. */
export interface MemoryFigures {
  rssMB: number
  heapTotalMB: number
  heapUsedMB: number
  externalMB: number
  arrayBuffersMB: number
}

export function memoryOf(s: Scrape): MemoryFigures {
  const mb = (kind: string) => value(s, 'fleetnas_process_memory_bytes', `{kind="${kind}"}`) / 1e6
  return { rssMB: mb('rss'), heapTotalMB: mb('heap_total'), heapUsedMB: mb('heap_used'), externalMB: mb('external'), arrayBuffersMB: mb('array_buffers') }
}

/**
 * The largest resident set the process ever had (VmHWM), in MB: the true peak, where sampling
 * every 250 ms can miss a short one.
 */
export async function peakRssMB(pid: number): Promise<number> {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmHWM line in /proc/${pid}/status`)
  return (Number(m[1]) * 1024) / 1e6
}
