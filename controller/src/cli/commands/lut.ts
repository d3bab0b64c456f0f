/** `fleetnas lut list|show|export`: latency lookup tables through the HTTP API. */
import { writeFile } from 'node:fs/promises'
import type { ApiClient } from '../api-client.ts'
import type { LutSummary, LutView } from '../api-types.ts'
import { median, ms, pct, table } from '../format.ts'

export interface LutSelector {
  hardwareProfile: string
  runtime?: string
  threads?: number
}

function lutPath(s: LutSelector, format?: string): string {
  const q = new URLSearchParams({ runtime: s.runtime ?? 'onnxruntime', threads: String(s.threads ?? 1) })
  if (format) q.set('format', format)
  return `/v1/luts/${encodeURIComponent(s.hardwareProfile)}?${q}`
}

export async function fetchLuts(api: ApiClient): Promise<LutSummary[]> {
  const reply = await api.get<LutSummary[] | { items: LutSummary[] }>('/v1/luts')
  return Array.isArray(reply) ? reply : reply.items
}

export async function listLuts(api: ApiClient): Promise<string> {
  const luts = await fetchLuts(api)
  if (luts.length === 0) return 'no LUTs yet: run a campaign first (fleetnas campaign create ...)'
  return table(
    ['HARDWARE PROFILE', 'RUNTIME', 'THREADS', 'ENTRIES', 'DEVICES', 'UPDATED'],
    luts.map((l) => [l.hardwareProfile, l.runtime, l.threads, l.entries, l.devices ?? '', l.updatedAt ?? '']),
  )
}

/** A few lines that say what a LUT holds: size, latency range, noise. */
export function summarizeLut(l: LutView): string {
  const med = l.entries.map((e) => e.medianMs)
  const sorted = [...l.entries].sort((a, b) => a.medianMs - b.medianMs)
  const lines = [
    `LUT ${l.hardwareProfile} / ${l.runtime} / ${l.threads} thread(s): ${l.entries.length} blocks`,
    `  median latency ${ms(median(med))} ms (fastest ${ms(sorted[0]?.medianMs)} ms, slowest ${ms(sorted.at(-1)?.medianMs)} ms)`,
    `  median CV ${pct(median(l.entries.map((e) => e.cv)))}, blocks over 5% CV: ${l.entries.filter((e) => e.cv > 0.05).length}`,
  ]
  if (sorted.length) lines.push(`  slowest block: ${sorted.at(-1)!.key}`)
  return lines.join('\n')
}

export async function showLut(api: ApiClient, s: LutSelector, opts: { limit?: number } = {}): Promise<string> {
  const l = await api.get<LutView>(lutPath(s))
  const rows = l.entries
    .slice(0, opts.limit ?? l.entries.length)
    .map((e) => [e.key, ms(e.medianMs), ms(e.p10Ms), ms(e.p90Ms), pct(e.cv), e.samples, e.devices])
  return `${summarizeLut(l)}\n\n${table(['BLOCK', 'MEDIAN MS', 'P10', 'P90', 'CV', 'SAMPLES', 'DEVICES'], rows)}`
}

export async function exportLut(api: ApiClient, s: LutSelector & { format: 'csv' | 'json'; out?: string }): Promise<string> {
  const text = s.format === 'csv' ? await api.requestText('GET', lutPath(s, 'csv')) : JSON.stringify(await api.get<LutView>(lutPath(s)), null, 2)
  if (!s.out) return text
  await writeFile(s.out, text)
  return `wrote ${s.out}`
}
