/** `fleetnas lut list|show|export`: latency lookup tables through the HTTP API. */
import { writeFile } from 'node:fs/promises'
import type { ApiClient } from '../api-client.ts'
import type { LutSummary, LutView } from '../api-types.ts'
import { quantile } from '@fleetnas/shared'
import { median, ms, pct, plusMinus, table } from '../format.ts'
import type { LutEntry } from '../api-types.ts'

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
    ['HARDWARE PROFILE', 'RUNTIME', 'THREADS', 'BLOCKS', 'ARCHITECTURES', 'DEVICES', 'UPDATED'],
    luts.map((l) => [l.hardwareProfile, l.runtime, l.threads, l.entries, l.architectures ?? 0, l.devices ?? '', l.updatedAt ?? '']),
  )
}

/** Half-width of an entry's 95% interval as a share of its median, when it has one. */
function relativeUncertainty(e: LutEntry): number | undefined {
  if (e.ciLowMs == null || e.ciHighMs == null || !(e.medianMs > 0)) return undefined
  return (e.ciHighMs - e.ciLowMs) / 2 / e.medianMs
}

/** A block's median as a user may read it: never 0 ms for a block faster than the call overhead. */
function latencyCell(e: LutEntry): string {
  return e.belowOverhead ? `<${ms(e.overheadMs ?? undefined)} (below overhead)` : ms(e.medianMs)
}

/** A few lines that say what a LUT holds and how far to trust it. */
export function summarizeLut(l: LutView): string {
  const resolved = l.entries.filter((e) => !e.belowOverhead)
  const sorted = [...resolved].sort((a, b) => a.medianMs - b.medianMs)
  const unc = l.entries.map(relativeUncertainty).filter((u): u is number => u !== undefined)
  const below = l.entries.length - resolved.length
  const overhead = l.overheads?.length ? median(l.overheads.map((o) => o.medianMs)) : undefined
  const lines = [
    `LUT ${l.hardwareProfile} / ${l.runtime} / ${l.threads} thread(s): ${l.entries.length} blocks, ${l.architectures?.length ?? 0} architectures measured whole`,
    `  median block latency ${ms(median(resolved.map((e) => e.medianMs)))} ms net of the call overhead (fastest ${ms(sorted[0]?.medianMs)} ms, slowest ${ms(sorted.at(-1)?.medianMs)} ms)`,
  ]
  if (overhead !== undefined) lines.push(`  one call's overhead (empty graph): ${ms(overhead)} ms median over ${l.overheads!.length} input shapes`)
  lines.push(
    unc.length > 0
      ? `  uncertainty of a stored median (95% interval, half-width): median ±${pct(median(unc))}, 90% of blocks within ±${pct(quantile(unc, 0.9))}`
      : '  uncertainty of the stored medians: not reported by these agents',
  )
  lines.push(`  run-to-run CV (a diagnostic of host noise): median ${pct(median(l.entries.map((e) => e.cv)))}`)
  if (below > 0) lines.push(`  ${below} block(s) faster than the call overhead resolves: shown as "<overhead", counted as 0 ms in predictions`)
  if (sorted.length) lines.push(`  slowest block: ${sorted.at(-1)!.key}`)
  return lines.join('\n')
}

export async function showLut(api: ApiClient, s: LutSelector, opts: { limit?: number } = {}): Promise<string> {
  const l = await api.get<LutView>(lutPath(s))
  const rows = l.entries
    .slice(0, opts.limit ?? l.entries.length)
    .map((e) => [e.key, latencyCell(e), plusMinus(e.medianMs, e.ciLowMs, e.ciHighMs), ms(e.p10Ms), ms(e.p90Ms), pct(e.cv), e.samples, e.devices])
  return `${summarizeLut(l)}\n\n${table(['BLOCK', 'MEDIAN MS', '95% CI', 'P10', 'P90', 'CV', 'SAMPLES', 'DEVICES'], rows)}`
}

export async function exportLut(api: ApiClient, s: LutSelector & { format: 'csv' | 'json'; out?: string }): Promise<string> {
  const text = s.format === 'csv' ? await api.requestText('GET', lutPath(s, 'csv')) : JSON.stringify(await api.get<LutView>(lutPath(s)), null, 2)
  if (!s.out) return text
  await writeFile(s.out, text)
  return `wrote ${s.out}`
}
