/** `fleetnas arch request|show|list|cancel|export`: architecture requests through the HTTP API. */
import { writeFile } from 'node:fs/promises'
import { InvalidSpec, pollUntil } from '@fleetnas/shared'
import type { ApiClient } from '../api-client.ts'
import { ms, pct, table } from '../format.ts'
import { measureSettingsOf, type MeasureSettingsOptions } from './campaign.ts'

export interface ArchRequestOptions extends MeasureSettingsOptions {
  profile?: string
  device?: string
  runtime?: string
  threads?: number
  latencyMs: number
  maxParams?: number
  latencyConfidence?: number
  way: number
  shot: number
  population?: number
  generations?: number
  seed?: number
  confirm?: number
  confirmTasks?: number
  finetune?: number
  verify?: boolean
}

interface MeasuredAccuracy {
  mean: number
  ci95: number
  tasks: number
}

interface RequestView {
  id: string
  state: string
  request: { hardwareProfile: string; runtime: string; threads: number; constraints: { latencyMs: number; maxParams?: number }; task: { way: number; shot: number } }
  progress: { phase: string; generation?: number; generations?: number; done?: number; total?: number; campaignId?: string } | null
  result: {
    architecture: { id: string; blocks: string[] }
    params: number
    latency: { predictedMs: number; lowMs: number | null; highMs: number | null; model: string; boundMs?: number; confidence?: number; margin?: number; measuredMs: number | null }
    accuracy: { predicted: number; measured: MeasuredAccuracy | null; finetuned?: MeasuredAccuracy }
    finetune?: { iterations: number; race?: { iterations: number; candidates: number } }
    front: { id: string; latencyMs: number; accuracy: number; params: number }[]
    confirmed?: { id: string; latencyMs: number; predicted: number; measured: MeasuredAccuracy; raced?: MeasuredAccuracy; anchor: boolean }[]
    unconsidered: { architectures: number; missingBlocks: string[] }
    search: { evaluated: number; generations: number }
    timings: { predictorMs: number; searchMs: number; profilingMs: number; confirmMs: number; finetuneMs?: number; verifyMs: number }
  } | null
  error: { code: string; message: string } | null
  createdAt: string
}

export const TERMINAL_REQUEST_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED'])

export function buildArchRequestBody(o: ArchRequestOptions): Record<string, unknown> {
  if ((o.profile === undefined) === (o.device === undefined)) throw InvalidSpec('give either --profile NAME or --device ID')
  const search: Record<string, number> = {}
  if (o.population !== undefined) search.population = o.population
  if (o.generations !== undefined) search.generations = o.generations
  if (o.seed !== undefined) search.seed = o.seed
  return {
    ...(o.profile !== undefined ? { hardwareProfile: o.profile } : { deviceId: o.device }),
    ...(o.runtime && { runtime: o.runtime }),
    ...(o.threads !== undefined && { threads: o.threads }),
    constraints: {
      latencyMs: o.latencyMs,
      ...(o.maxParams !== undefined && { maxParams: o.maxParams }),
      ...(o.latencyConfidence !== undefined && { latencyConfidence: o.latencyConfidence }),
    },
    task: { way: o.way, shot: o.shot },
    ...(Object.keys(search).length > 0 && { search }),
    ...(o.confirm !== undefined && { confirm: o.confirm }),
    ...(o.confirmTasks !== undefined && { confirmTasks: o.confirmTasks }),
    ...(o.finetune !== undefined && { finetune: o.finetune }),
    ...(measureSettingsOf(o) && { settings: measureSettingsOf(o) }),
    ...(o.verify && { verify: true }),
  }
}

export async function requestArchitecture(api: ApiClient, o: ArchRequestOptions): Promise<string> {
  return (await api.post<{ id: string }>('/v1/architectures', buildArchRequestBody(o))).id
}

export const fetchRequest = (api: ApiClient, id: string) => api.get<RequestView>(`/v1/architectures/${encodeURIComponent(id)}`)

function progressText(r: RequestView): string {
  const p = r.progress
  if (!p) return r.state
  const of = p.generation !== undefined ? ` generation ${p.generation}/${p.generations}` : p.total !== undefined ? ` ${p.done ?? 0}/${p.total}` : ''
  return `${r.state}: ${p.phase}${of}${p.campaignId ? ` (campaign ${p.campaignId})` : ''}`
}

export function describeRequest(r: RequestView): string {
  const q = r.request
  const head = `architecture request ${r.id}: ${q.task.way}-way ${q.task.shot}-shot within ${q.constraints.latencyMs} ms on ${q.hardwareProfile} / ${q.runtime} / ${q.threads} thread(s): ${progressText(r)}`
  if (r.error) return `${head}\n  ${r.error.code}: ${r.error.message}`
  if (!r.result) return head
  const x = r.result
  const l = x.latency
  const accuracy = (m: MeasuredAccuracy) => `${pct(m.mean)} ± ${pct(m.ci95)} over ${m.tasks} tasks`
  const seconds = (v: number | undefined) => `${((v ?? 0) / 1000).toFixed(1)} s`
  const lines = [
    head,
    `  architecture  ${x.architecture.id}  (${x.params.toLocaleString('en-US')} parameters)`,
    `  latency       predicted ${ms(l.predictedMs)} ms${l.lowMs !== null && l.highMs !== null ? ` (95%: ${ms(l.lowMs)}..${ms(l.highMs)})` : ''}, ${l.model} model` +
      (l.boundMs !== undefined && l.confidence !== undefined ? `; held within the budget as ${ms(l.boundMs)} ms (+${pct(l.margin ?? 0)}, ${Math.round(l.confidence * 100)}% of calibration networks measured within)` : '') +
      (l.measuredMs !== null ? `; measured ${ms(l.measuredMs)} ms${l.measuredMs > q.constraints.latencyMs ? ' (OVER the budget)' : ''}` : ''),
    `  accuracy      ${x.accuracy.measured ? accuracy(x.accuracy.measured) : '-'} with inherited weights (predicted ${pct(x.accuracy.predicted)})`,
  ]
  if (x.finetune && x.accuracy.finetuned)
    lines.push(`  fine-tuned    ${accuracy(x.accuracy.finetuned)} after ${x.finetune.iterations} iterations (${seconds(x.timings.finetuneMs)}); the model carries these weights`)
  lines.push(
    `  search        ${x.search.evaluated} candidates, ${x.search.generations} generations in ${seconds(x.timings.searchMs)}` +
      ` (accuracy predictor ${seconds(x.timings.predictorMs)}, confirmation ${seconds(x.timings.confirmMs)}` +
      `${x.timings.profilingMs ? `, profiling ${seconds(x.timings.profilingMs)}` : ''}${x.timings.verifyMs ? `, verification ${seconds(x.timings.verifyMs)}` : ''})`,
  )
  if (x.unconsidered.architectures > 0)
    lines.push(`  not considered: ${x.unconsidered.architectures} candidates whose blocks the LUT lacks (${x.unconsidered.missingBlocks.length} blocks; no device of the class online to profile them)`)
  if (x.confirmed && x.confirmed.length > 0)
    lines.push(
      '',
      'Confirmed for real (inherited weights, the same tasks; anchor: a uniform network the supernet trains best):',
      table(
        ['ARCHITECTURE', 'LATENCY MS', 'PREDICTED', 'MEASURED', ...(x.finetune?.race ? [`AFTER ${x.finetune.race.iterations} IT.`] : []), 'ANCHOR'],
        x.confirmed.map((c) => [
          c.id,
          ms(c.latencyMs),
          pct(c.predicted),
          `${pct(c.measured.mean)} ± ${pct(c.measured.ci95)}`,
          ...(x.finetune?.race ? [c.raced ? `${pct(c.raced.mean)} ± ${pct(c.raced.ci95)}` : '-'] : []),
          c.anchor ? 'yes' : '',
        ]),
      ),
    )
  lines.push('', 'Pareto front (predicted):', table(['ARCHITECTURE', 'LATENCY MS', 'ACCURACY', 'PARAMS'], x.front.map((f) => [f.id, ms(f.latencyMs), pct(f.accuracy), f.params])))
  return lines.join('\n')
}

export async function listRequests(api: ApiClient): Promise<string> {
  const items = await api.get<RequestView[]>('/v1/architectures')
  if (items.length === 0) return 'no architecture requests yet'
  return table(
    ['ID', 'STATE', 'PROFILE', 'BUDGET MS', 'TASK', 'ARCHITECTURE'],
    items.map((r) => [r.id, r.state, r.request.hardwareProfile, r.request.constraints.latencyMs, `${r.request.task.way}w${r.request.task.shot}s`, r.result?.architecture.id ?? '']),
  )
}

/** Follows a request until it ends, progress on stderr. */
export async function watchRequest(api: ApiClient, id: string, opts: { intervalMs?: number; onProgress?: (line: string) => void } = {}): Promise<RequestView> {
  let last = ''
  return pollUntil(
    async () => {
      const r = await fetchRequest(api, id)
      const line = progressText(r)
      if (line !== last) opts.onProgress?.(line)
      last = line
      return TERMINAL_REQUEST_STATES.has(r.state) ? r : undefined
    },
    { what: `architecture request ${id} to end`, everyMs: opts.intervalMs ?? 500 },
  )
}

export async function cancelRequest(api: ApiClient, id: string): Promise<string> {
  const r = await api.post<RequestView>(`/v1/architectures/${encodeURIComponent(id)}/cancel`)
  return `architecture request ${r.id} ${r.state.toLowerCase()}`
}

export async function exportArchitecture(api: ApiClient, id: string, o: { out: string; checkpoint?: boolean }): Promise<string> {
  const bytes = await api.requestBytes('GET', `/v1/architectures/${encodeURIComponent(id)}/${o.checkpoint ? 'checkpoint' : 'model.onnx'}`)
  await writeFile(o.out, bytes)
  return `wrote ${o.out} (${bytes.byteLength.toLocaleString('en-US')} bytes)`
}
