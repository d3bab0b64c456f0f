/**
 * The figures, drawn by Observable Plot. This module is loaded on demand (a separate chunk), so
 * pages without a chart do not pay for the chart library on first paint.
 */
import * as Plot from '@observablehq/plot'
import type { Axes, Cell, Metric } from './heatmap.ts'
import { METRICS } from './heatmap.ts'

const fmtMs = (v: number) => (v < 0.01 ? `${(v * 1000).toFixed(2)} µs` : v < 1 ? `${v.toFixed(3)} ms` : `${v.toFixed(2)} ms`)
const fmtMetric = (m: Metric, v: number) => (m === 'median' ? fmtMs(v) : m === 'spread' || m === 'ci' ? `${(v * 100).toFixed(1)}%` : v.toFixed(3))

// A log colour scale cannot show 0 (an overhead-subtracted median can clamp there).
const FLOOR = 1e-4

export interface HeatmapOptions {
  metric: Metric
  /** A ratio of two LUTs: diverging colours around 1. */
  ratio?: { a: string; b: string }
  xLabel: string
  /** Colour domain shared with a figure beside this one (two LUTs compared). */
  domain?: [number, number]
  /** Called with the cell under a click. */
  onCell?: (c: Cell) => void
}

export function heatmap(cells: Cell[], axes: Axes, o: HeatmapOptions): HTMLElement | SVGSVGElement {
  const colCount = Math.max(axes.xs.length, 1)
  const cellW = Math.max(10, Math.min(28, Math.floor(900 / colCount)))
  const width = 170 + colCount * cellW + 30
  const height = 110 + axes.ys.length * 16
  let color: Plot.ScaleOptions
  let title: (c: Cell) => string
  if (o.ratio) {
    const extreme = Math.max(2, ...cells.map((c) => Math.max(c.value, 1 / c.value)).filter(Number.isFinite))
    color = {
      type: 'diverging-log',
      pivot: 1,
      domain: [1 / extreme, extreme],
      scheme: 'BuRd',
      legend: true,
      label: `${o.ratio.a} / ${o.ratio.b}`,
      tickFormat: (d: number) => `${+d.toPrecision(2)}x`,
    }
    title = (c) => `${c.y} · ${c.x}\n${o.ratio!.a} / ${o.ratio!.b}: ${c.value.toFixed(2)}x (median of ${c.n} block${c.n > 1 ? 's' : ''}, ${c.min.toFixed(2)}–${c.max.toFixed(2)}x)`
  } else {
    color =
      o.metric === 'median'
        ? { type: 'log', scheme: 'viridis', legend: true, label: METRICS.median, domain: o.domain, tickFormat: (d: number) => `${+d.toPrecision(2)}` }
        : { type: 'linear', scheme: 'oranges', legend: true, label: METRICS[o.metric], domain: o.domain }
    title = (c) =>
      `${c.y} · ${c.x}\n${METRICS[o.metric]}: ${fmtMetric(o.metric, c.value)}` +
      (c.n > 1 ? `\nmedian of ${c.n} blocks (${fmtMetric(o.metric, c.min)} – ${fmtMetric(o.metric, c.max)})` : `\n${c.keys[0]}`)
  }
  const data = o.metric === 'median' && !o.ratio ? cells.map((c) => ({ ...c, value: Math.max(c.value, FLOOR) })) : cells
  const fig = Plot.plot({
    width,
    height,
    marginLeft: 150,
    marginBottom: 80,
    x: { domain: axes.xs, label: o.xLabel, tickRotate: -60, tickSize: 0 },
    y: { domain: axes.ys, label: null, tickSize: 0 },
    color,
    style: { fontSize: '11px', background: 'transparent' },
    marks: [Plot.cell(data, { x: 'x', y: 'y', fill: 'value', inset: 0.5, title })],
  })
  if (o.onCell) {
    // Plot binds each drawn rect to the index of its datum.
    fig.addEventListener('click', (e) => {
      const i = (e.target as { __data__?: unknown }).__data__
      if (typeof i === 'number' && cells[i]) o.onCell!(cells[i])
    })
    fig.style.cursor = 'pointer'
  }
  return fig
}

export interface ScatterPoint {
  measuredMs: number
  predictedMs: number
  label?: string
}

/** Predicted against measured latency with the y = x line and the +-10% band. */
export function predictedVsMeasured(points: ScatterPoint[]): HTMLElement | SVGSVGElement {
  const max = Math.max(...points.flatMap((p) => [p.measuredMs, p.predictedMs]), 1e-3) * 1.08
  const line = [0, max]
  return Plot.plot({
    width: 560,
    height: 460,
    grid: true,
    x: { label: 'measured (ms)', domain: [0, max] },
    y: { label: 'predicted (ms)', domain: [0, max] },
    marks: [
      Plot.areaY(line, { x: (d: number) => d, y1: (d: number) => d * 0.9, y2: (d: number) => d * 1.1, fill: '#4f8df5', fillOpacity: 0.15 }),
      Plot.line(line.map((d) => [d, d]), { stroke: '#4f8df5' }),
      Plot.dot(points, {
        x: 'measuredMs',
        y: 'predictedMs',
        r: 3,
        fill: (p: ScatterPoint) => (Math.abs(p.predictedMs / p.measuredMs - 1) <= 0.1 ? '#1f9d55' : '#d13b3b'),
        title: (p: ScatterPoint) => `${p.label ?? ''}\nmeasured ${fmtMs(p.measuredMs)}, predicted ${fmtMs(p.predictedMs)}`,
      }),
    ],
  })
}

export interface ParetoPoint {
  id: string
  latencyMs: number
  accuracy: number
}

export interface ParetoOptions {
  /** The answer's id: drawn larger and labelled. */
  chosen?: string
  /** The request's latency budget: a dashed rule. */
  budgetMs?: number
  /** A reference architecture at its predicted latency on the same LUT (Conv4): a labelled rule. */
  baseline?: { label: string; latencyMs: number }
}

/** The accuracy-latency Pareto front of a search (predicted figures), as a step line with its points. */
export function paretoFront(front: ParetoPoint[], o: ParetoOptions = {}): HTMLElement | SVGSVGElement {
  const points = [...front].sort((a, b) => a.latencyMs - b.latencyMs)
  const chosen = points.filter((p) => p.id === o.chosen)
  const xs = [...points.map((p) => p.latencyMs), o.budgetMs ?? 0, o.baseline?.latencyMs ?? 0]
  const xMax = Math.max(...xs, 1e-3) * 1.08
  const rules: { x: number; label: string; stroke: string }[] = []
  if (o.budgetMs !== undefined) rules.push({ x: o.budgetMs, label: `budget ${fmtMs(o.budgetMs)}`, stroke: '#d13b3b' })
  if (o.baseline) rules.push({ x: o.baseline.latencyMs, label: `${o.baseline.label} ${fmtMs(o.baseline.latencyMs)}`, stroke: '#7a5800' })
  return Plot.plot({
    width: 640,
    height: 380,
    grid: true,
    marginRight: 110, // the rules' labels start at their line and may run past the last tick
    x: { label: 'predicted latency (ms)', domain: [0, xMax] },
    y: { label: 'predicted accuracy', percent: true },
    marks: [
      ...rules.flatMap((r, i) => [
        Plot.ruleX([r.x], { stroke: r.stroke, strokeDasharray: '5,4', strokeWidth: 1.5 }),
        Plot.text([r], { x: 'x', frameAnchor: 'top', text: 'label', dy: 4 + 14 * i, dx: 4, textAnchor: 'start', fill: r.stroke, fontWeight: 600 }),
      ]),
      Plot.line(points, { x: 'latencyMs', y: 'accuracy', curve: 'step-after', stroke: '#4f8df5' }),
      Plot.dot(points, {
        x: 'latencyMs',
        y: 'accuracy',
        r: 3.5,
        fill: '#4f8df5',
        title: (p: ParetoPoint) => `${p.id}\n${fmtMs(p.latencyMs)}, accuracy ${(p.accuracy * 100).toFixed(1)}%`,
      }),
      Plot.dot(chosen, { x: 'latencyMs', y: 'accuracy', r: 7, stroke: '#1f9d55', strokeWidth: 2.5, fill: 'none' }),
      Plot.text(chosen, { x: 'latencyMs', y: 'accuracy', text: () => 'answer', dy: -14, fill: '#1f9d55', fontWeight: 600 }),
    ],
  })
}
