/** `fleetnas campaign create|list|show|watch|cancel`: campaigns through the HTTP API. */
import { readFile } from 'node:fs/promises'
import cliProgress from 'cli-progress'
import { InvalidSpec, pollUntil } from '@fleetnas/shared'
import type { ApiClient } from '../api-client.ts'
import { TERMINAL_CAMPAIGN_STATES, type CampaignView } from '../api-types.ts'
import { table } from '../format.ts'

export interface CreateCampaignOptions {
  name: string
  blocksFile?: string
  searchSpace?: string
  sample?: number
  /** File of architecture ids: a JSON array or one per line. */
  architectures?: string
  calibration?: number
  calibrationSeed?: number
  /** false: measure the architectures alone, not their blocks. */
  architectureBlocks?: boolean
  device?: string[]
  profile?: string[]
  runtime?: string[]
  threads?: number[]
  warmupRuns?: number
  minRuns?: number
  minTimeMs?: number
  maxCv?: number
  passes?: number
  timeoutMs?: number
  retries?: number
}

export async function buildCampaignBody(o: CreateCampaignOptions): Promise<Record<string, unknown>> {
  if (!o.blocksFile && !o.searchSpace && !o.architectures && o.calibration === undefined)
    throw InvalidSpec('give --blocks-file FILE, --search-space default, --architectures FILE or --calibration N')
  if (!o.device?.length && !o.profile?.length) throw InvalidSpec('give at least one --device ID or --profile NAME')
  const body: Record<string, unknown> = {
    name: o.name,
    targets: { ...(o.device?.length ? { devices: o.device } : {}), ...(o.profile?.length ? { hardwareProfiles: o.profile } : {}) },
  }
  if (o.blocksFile) {
    let blocks: unknown
    try {
      blocks = JSON.parse(await readFile(o.blocksFile, 'utf8'))
    } catch (e) {
      throw InvalidSpec(`--blocks-file ${o.blocksFile}: ${(e as Error).message}`)
    }
    body.blocks = blocks
  }
  if (o.architectures) body.architectures = await readArchitectureIds(o.architectures)
  if (o.calibration !== undefined) body.calibration = { count: o.calibration, ...(o.calibrationSeed !== undefined && { seed: o.calibrationSeed }) }
  if (o.architectureBlocks === false) body.architectureBlocks = false
  if (o.searchSpace) body.searchSpace = o.searchSpace
  if (o.sample !== undefined) body.sample = o.sample
  if (o.runtime?.length) body.runtimes = o.runtime
  if (o.threads?.length) body.threads = o.threads
  const settings = measureSettingsOf(o)
  if (settings) body.settings = settings
  if (o.timeoutMs !== undefined) body.executionTimeoutMs = o.timeoutMs
  if (o.retries !== undefined) body.maxRetries = o.retries
  return body
}

/** A JSON array of ids, or one id per line (blank lines and # comments ignored). */
async function readArchitectureIds(file: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    throw InvalidSpec(`--architectures ${file}: ${(e as Error).message}`)
  }
  if (text.trimStart().startsWith('[')) {
    let ids: unknown
    try {
      ids = JSON.parse(text)
    } catch (e) {
      throw InvalidSpec(`--architectures ${file}: ${(e as Error).message}`)
    }
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string')) throw InvalidSpec(`--architectures ${file}: expected an array of architecture ids`)
    return ids
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
}

export async function createCampaign(api: ApiClient, o: CreateCampaignOptions): Promise<string> {
  const { id } = await api.post<{ id: string }>('/v1/campaigns', await buildCampaignBody(o))
  return id
}

export async function listCampaigns(api: ApiClient): Promise<string> {
  const reply = await api.get<CampaignView[] | { items: CampaignView[] }>('/v1/campaigns')
  const items = Array.isArray(reply) ? reply : reply.items
  if (items.length === 0) return 'no campaigns yet'
  return table(
    ['ID', 'NAME', 'STATE', 'DONE', 'FAILED', 'TOTAL', 'CREATED'],
    items.map((c) => [c.id, c.name, c.state, c.progress.succeeded, c.progress.failed, c.progress.total, c.createdAt ?? '']),
  )
}

export function describeCampaign(c: CampaignView): string {
  const what = c.architectures ? ` (${c.blocks - c.architectures} blocks and ${c.architectures} architectures per execution)` : ''
  const head = `campaign ${c.id} "${c.name}": ${c.state}, ${c.progress.succeeded}/${c.progress.total} targets stored, ${c.progress.failed} failed${what}`
  if (c.executions.length === 0) return head
  const rows = c.executions.map((e) => [e.id, e.deviceId, e.runtime, e.threads, e.state, `${e.done}/${e.total}`, e.attempts, e.reason ?? ''])
  return `${head}\n\n${table(['EXECUTION', 'DEVICE', 'RUNTIME', 'THREADS', 'STATE', 'BLOCKS', 'ATTEMPTS', 'REASON'], rows)}`
}

export async function showCampaign(api: ApiClient, id: string): Promise<string> {
  return describeCampaign(await api.get<CampaignView>(`/v1/campaigns/${encodeURIComponent(id)}`))
}

export interface MeasureSettingsOptions {
  warmupRuns?: number
  minRuns?: number
  minTimeMs?: number
  maxCv?: number
  passes?: number
}

/** The measurement settings a command's --warmup-runs, --min-runs, --min-time-ms, --max-cv and --passes give, if any. */
export function measureSettingsOf(o: MeasureSettingsOptions): Record<string, number> | undefined {
  const settings: Record<string, number> = {}
  if (o.warmupRuns !== undefined) settings.warmupRuns = o.warmupRuns
  if (o.minRuns !== undefined) settings.minRuns = o.minRuns
  if (o.minTimeMs !== undefined) settings.minTimeMs = o.minTimeMs
  if (o.maxCv !== undefined) settings.maxCv = o.maxCv
  if (o.passes !== undefined) settings.passes = o.passes
  return Object.keys(settings).length > 0 ? settings : undefined
}

export async function cancelCampaign(api: ApiClient, id: string): Promise<string> {
  await api.post(`/v1/campaigns/${encodeURIComponent(id)}/cancel`)
  return `campaign ${id} canceled`
}

/**
 * Polls the campaign and draws a live progress bar until it ends (or `signal` aborts).
 * Returns the final view. The bar goes to stderr so stdout stays clean for scripts.
 */
export async function watchCampaign(
  api: ApiClient,
  id: string,
  opts: { intervalMs?: number; signal?: AbortSignal; bar?: boolean } = {},
): Promise<CampaignView> {
  const interval = opts.intervalMs ?? 500
  const showBar = opts.bar ?? process.stderr.isTTY === true
  const bar = new cliProgress.SingleBar(
    { format: 'campaign {id} |{bar}| {percentage}% {value}/{total} targets, {failed} failed | {state} | ETA {eta_formatted}', hideCursor: true, stream: process.stderr, noTTYOutput: !showBar, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  try {
    return await pollUntil(
      async () => {
        const view = await api.get<CampaignView>(`/v1/campaigns/${encodeURIComponent(id)}`)
        const total = Math.max(view.progress.total, 1)
        if (started) {
          bar.setTotal(total)
          bar.update(view.progress.succeeded, { failed: view.progress.failed, state: view.state })
        } else {
          bar.start(total, view.progress.succeeded, { id, failed: view.progress.failed, state: view.state })
          started = true
        }
        // An abort returns the last view rather than throwing: the caller says where the campaign stood.
        return TERMINAL_CAMPAIGN_STATES.has(view.state) || opts.signal?.aborted ? view : undefined
      },
      { what: `campaign ${id} to end`, everyMs: interval },
    )
  } finally {
    if (started) bar.stop()
  }
}
