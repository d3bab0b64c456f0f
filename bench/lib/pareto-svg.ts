/**
 * bench:nas's accuracy-latency plot as a standalone SVG: Observable Plot (what the dashboard draws
 * with) rendered on a jsdom document, since a benchmark has no browser.
 */
import * as Plot from '@observablehq/plot'
import { JSDOM } from 'jsdom'

export interface ParetoPoint {
  kind: string
  label: string
  latencyMs: number
  accuracy: number
  ci95: number
}

export function paretoSvg(points: readonly ParetoPoint[], opts: { title: string; conv4Ms: number }): string {
  const { document } = new JSDOM('').window
  const data = points.map((p) => ({ ...p, accuracy: p.accuracy * 100, low: (p.accuracy - p.ci95) * 100, high: (p.accuracy + p.ci95) * 100 }))
  const svg = Plot.plot({
    document,
    width: 720,
    height: 420,
    marginRight: 40,
    marginTop: 48,
    marginBottom: 56,
    style: { fontFamily: 'sans-serif', fontSize: '12px', background: 'white' },
    x: { label: 'measured latency (ms) →', grid: true, zero: true },
    y: { label: '↑ accuracy (%)', grid: true },
    color: { domain: ['searched', 'Conv4 (trained alone)', 'Conv4 (supernet, fine-tuned)'], range: ['#d62728', '#1f77b4', '#2ca02c'] },
    marks: [
      Plot.ruleX([opts.conv4Ms], { stroke: '#999', strokeDasharray: '4 3' }),
      Plot.ruleX(data, { x: 'latencyMs', y1: 'low', y2: 'high', stroke: 'kind' }),
      Plot.dot(data, { x: 'latencyMs', y: 'accuracy', fill: 'kind', r: 4 }),
      Plot.text(data, { x: 'latencyMs', y: 'accuracy', text: 'label', dx: 8, textAnchor: 'start', fill: 'kind' }),
      Plot.text([opts.title], { frameAnchor: 'top-right', textAnchor: 'end', dy: -30, fontWeight: 'bold', fontSize: 13 }),
      Plot.text(['● searched (label: budget as % of Conv4)'], { frameAnchor: 'bottom-left', dy: 44, textAnchor: 'start', fill: '#d62728' }),
      Plot.text(['● Conv4 trained alone'], { frameAnchor: 'bottom-left', dx: 250, dy: 44, textAnchor: 'start', fill: '#1f77b4' }),
      Plot.text(['● Conv4 in the supernet, fine-tuned   ┆ Conv4 latency   bars: 95% CI'], { frameAnchor: 'bottom-left', dx: 390, dy: 44, textAnchor: 'start', fill: '#2ca02c' }),
    ],
  }) as unknown as Element
  svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg')
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.outerHTML}\n`
}
