/**
 * LUT heatmaps: entries grouped into cells of (block variant) x (input shape or output width), a
 * value per cell (the median over the entries in it), and the Observable Plot figure. Pure data
 * functions first, so the grouping can be read (and tested) without a browser.
 */
import type { BlockSpec } from '@fleetnas/shared'
import type { LutEntry } from './types.ts'

export type Columns = 'input' | 'width'
export type Metric = 'median' | 'ci' | 'spread' | 'cv'

export const METRICS: Record<Metric, string> = {
  median: 'median latency (ms)',
  ci: 'uncertainty of the median (95% interval half-width, % of median)',
  spread: 'p10–p90 spread (% of median)',
  cv: 'coefficient of variation',
}

/** Row label: the op with its kernel, stride, expansion and pooling, e.g. "mbconv e4 k5 s2 +pool". */
export function variantOf(b: BlockSpec): string {
  if (b.op === 'head') return 'head (gap + fc)'
  return [b.op, b.expand ? `e${b.expand}` : '', `k${b.kernel}`, `s${b.stride}`, b.pool ? '+pool' : ''].filter(Boolean).join(' ')
}

export function inputOf(b: BlockSpec): string {
  return `${b.input.h}x${b.input.w}x${b.input.c}`
}

export function widthOf(b: BlockSpec): number {
  return b.op === 'head' ? b.classes : b.outChannels
}

const OP_ORDER = ['conv', 'dwsep', 'mbconv', 'head']

function variantRank(b: BlockSpec): number[] {
  if (b.op === 'head') return [3]
  return [OP_ORDER.indexOf(b.op), b.expand ?? 0, b.kernel, b.stride, b.pool ? 1 : 0]
}

const compareRanks = (a: number[], b: number[]) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

export interface Cell {
  x: string
  y: string
  value: number
  /** Entries (keys) in the cell. */
  n: number
  min: number
  max: number
  keys: string[]
}

export interface Grouping {
  columns: Columns
  /** Keep only entries of this output width (columns = input) or input shape (columns = width). */
  only?: string
  metric: Metric
}

function metricOf(e: LutEntry, m: Metric): number {
  if (m === 'median') return e.medianMs
  if (m === 'cv') return e.cv
  if (m === 'ci') return e.ciLowMs !== null && e.ciHighMs !== null && e.medianMs > 0 ? (e.ciHighMs - e.ciLowMs) / 2 / e.medianMs : NaN
  return e.medianMs > 0 ? (e.p90Ms - e.p10Ms) / e.medianMs : NaN
}

const median = (v: number[]) => {
  const s = v.slice().sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export interface Axes {
  xs: string[]
  ys: string[]
}

/** The axis domains in a reading order: ops, then kernel and stride; inputs large to small. */
export function axesOf(blocks: BlockSpec[], columns: Columns): Axes {
  const ys = new Map<string, number[]>()
  const xs = new Map<string, number[]>()
  for (const b of blocks) {
    ys.set(variantOf(b), variantRank(b))
    if (columns === 'input') xs.set(inputOf(b), [-b.input.h, -b.input.w, b.input.c])
    else xs.set(String(widthOf(b)), [widthOf(b)])
  }
  const order = (m: Map<string, number[]>) => [...m].sort((a, b) => compareRanks(a[1], b[1])).map(([k]) => k)
  return { xs: order(xs), ys: order(ys) }
}

function keep(b: BlockSpec, g: Grouping): boolean {
  if (g.only === undefined || g.only === '') return true
  return g.columns === 'input' ? String(widthOf(b)) === g.only : inputOf(b) === g.only
}

function group(items: { block: BlockSpec; key: string; value: number }[], g: Grouping): Cell[] {
  const cells = new Map<string, { x: string; y: string; values: number[]; keys: string[] }>()
  for (const it of items) {
    if (!keep(it.block, g) || !Number.isFinite(it.value)) continue
    const x = g.columns === 'input' ? inputOf(it.block) : String(widthOf(it.block))
    const y = variantOf(it.block)
    const id = `${y}\0${x}`
    let c = cells.get(id)
    if (!c) cells.set(id, (c = { x, y, values: [], keys: [] }))
    c.values.push(it.value)
    c.keys.push(it.key)
  }
  return [...cells.values()].map((c) => ({ x: c.x, y: c.y, value: median(c.values), n: c.values.length, min: Math.min(...c.values), max: Math.max(...c.values), keys: c.keys }))
}

export function lutCells(entries: LutEntry[], g: Grouping): Cell[] {
  return group(
    entries.filter((e) => e.block).map((e) => ({ block: e.block!, key: e.key, value: metricOf(e, g.metric) })),
    g,
  )
}

/** Per key A / B of the chosen metric (keys in both LUTs only), then grouped like a LUT. */
export function ratioCells(a: LutEntry[], b: LutEntry[], g: Grouping): { cells: Cell[]; shared: number } {
  const other = new Map(b.map((e) => [e.key, e]))
  const items: { block: BlockSpec; key: string; value: number }[] = []
  for (const e of a) {
    const o = other.get(e.key)
    if (!o || !e.block) continue
    const num = metricOf(e, g.metric)
    const den = metricOf(o, g.metric)
    if (num > 0 && den > 0) items.push({ block: e.block, key: e.key, value: num / den })
  }
  return { cells: group(items, g), shared: items.length }
}

/** The values the "only" filter offers: output widths (columns = input) or input shapes. */
export function filterChoices(entries: LutEntry[], columns: Columns): string[] {
  const blocks = entries.map((e) => e.block).filter((b): b is BlockSpec => b !== null)
  if (columns === 'input') return [...new Set(blocks.map((b) => widthOf(b)))].sort((x, y) => x - y).map(String)
  return axesOf(blocks, 'input').xs
}
