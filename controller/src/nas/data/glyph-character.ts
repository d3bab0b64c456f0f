/**
 * Procedural "characters" for the built-in glyph dataset: a character is 2-4 pen strokes (lines,
 * circular arcs, quadratic and cubic Bezier curves) in the unit square, often starting where an
 * earlier stroke ended, as handwriting does. A sample is one "drawer's" rendering: control
 * points jittered, stroke width varied, then a small random affine (rotation, scale, shear,
 * shift), like the 20 drawers per Omniglot character.
 */
import type { Rng } from '@fleetnas/shared'
import { createCanvas, strokePolyline } from './raster.ts'

export type Stroke =
  | { kind: 'line'; points: number[] } // [x0,y0,x1,y1]
  | { kind: 'quad'; points: number[] } // [x0,y0,cx,cy,x1,y1]
  | { kind: 'cubic'; points: number[] } // [x0,y0,c1x,c1y,c2x,c2y,x1,y1]
  | { kind: 'arc'; points: number[]; radius: number; start: number; sweep: number } // points = [cx,cy]

export interface GlyphCharacter {
  strokes: Stroke[]
  /** Pen width as a fraction of the image side. */
  thickness: number
}

/** How much drawers differ; the defaults keep classes apart at 28x28 yet visibly varied. */
export interface GlyphJitter {
  point: number
  rotation: number
  scale: number
  shear: number
  shift: number
  thickness: number
}

export const DEFAULT_JITTER: GlyphJitter = {
  point: 0.02,
  rotation: 0.12,
  scale: 0.07,
  shear: 0.08,
  shift: 0.035,
  thickness: 0.15,
}

const KINDS = ['line', 'quad', 'cubic', 'arc'] as const
const CURVE_STEPS = 14

export function generateCharacter(rng: Rng): GlyphCharacter {
  const count = 2 + rng.int(3)
  const strokes: Stroke[] = []
  const ends: Array<[number, number]> = []
  for (let i = 0; i < count; i++) {
    const start: [number, number] =
      ends.length > 0 && rng.next() < 0.7 ? rng.pick(ends) : [0.15 + 0.7 * rng.next(), 0.15 + 0.7 * rng.next()]
    const stroke = randomStroke(rng, start)
    strokes.push(stroke)
    const flat = flattenStroke(stroke)
    ends.push([flat[0], flat[1]], [flat[flat.length - 2], flat[flat.length - 1]])
  }
  const character = { strokes, thickness: 0.06 + 0.03 * rng.next() }
  return normalizeCharacter(character)
}

function randomStroke(rng: Rng, [x0, y0]: [number, number]): Stroke {
  const kind = rng.pick(KINDS)
  const angle = 2 * Math.PI * rng.next()
  const length = 0.3 + 0.45 * rng.next()
  const x1 = x0 + length * Math.cos(angle)
  const y1 = y0 + length * Math.sin(angle)
  // Perpendicular bend for curves, signed so curves bow either way.
  const bend = (rng.next() - 0.5) * 0.9 * length
  const nx = -Math.sin(angle)
  const ny = Math.cos(angle)
  switch (kind) {
    case 'line':
      return { kind, points: [x0, y0, x1, y1] }
    case 'quad':
      return { kind, points: [x0, y0, (x0 + x1) / 2 + bend * nx, (y0 + y1) / 2 + bend * ny, x1, y1] }
    case 'cubic': {
      const bend2 = (rng.next() - 0.5) * 0.9 * length
      return {
        kind,
        points: [
          x0, y0,
          x0 + (x1 - x0) / 3 + bend * nx, y0 + (y1 - y0) / 3 + bend * ny,
          x0 + (2 * (x1 - x0)) / 3 + bend2 * nx, y0 + (2 * (y1 - y0)) / 3 + bend2 * ny,
          x1, y1,
        ],
      }
    }
    case 'arc': {
      const radius = 0.12 + 0.2 * rng.next()
      const start = 2 * Math.PI * rng.next()
      const sweep = (rng.next() < 0.5 ? -1 : 1) * Math.PI * (0.5 + 1.2 * rng.next())
      // Place the centre so the arc begins at the start point.
      return { kind, points: [x0 - radius * Math.cos(start), y0 - radius * Math.sin(start)], radius, start, sweep }
    }
  }
}

/** The stroke as a polyline [x0,y0,x1,y1,...] in the stroke's own coordinates. */
export function flattenStroke(stroke: Stroke): number[] {
  const p = stroke.points
  const out: number[] = []
  switch (stroke.kind) {
    case 'line':
      return p.slice()
    case 'quad':
      for (let i = 0; i <= CURVE_STEPS; i++) {
        const t = i / CURVE_STEPS
        const u = 1 - t
        out.push(u * u * p[0] + 2 * u * t * p[2] + t * t * p[4], u * u * p[1] + 2 * u * t * p[3] + t * t * p[5])
      }
      return out
    case 'cubic':
      for (let i = 0; i <= CURVE_STEPS; i++) {
        const t = i / CURVE_STEPS
        const u = 1 - t
        const a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t
        out.push(a * p[0] + b * p[2] + c * p[4] + d * p[6], a * p[1] + b * p[3] + c * p[5] + d * p[7])
      }
      return out
    case 'arc': {
      const steps = Math.max(4, Math.ceil((CURVE_STEPS * Math.abs(stroke.sweep)) / Math.PI))
      for (let i = 0; i <= steps; i++) {
        const a = stroke.start + (stroke.sweep * i) / steps
        out.push(p[0] + stroke.radius * Math.cos(a), p[1] + stroke.radius * Math.sin(a))
      }
      return out
    }
  }
}

/** Scales and centres the character so its longer side spans 70% of the square. */
function normalizeCharacter(character: GlyphCharacter): GlyphCharacter {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity
  for (const s of character.strokes) {
    const flat = flattenStroke(s)
    for (let i = 0; i < flat.length; i += 2) {
      minX = Math.min(minX, flat[i]); maxX = Math.max(maxX, flat[i])
      minY = Math.min(minY, flat[i + 1]); maxY = Math.max(maxY, flat[i + 1])
    }
  }
  const scale = 0.7 / Math.max(maxX - minX, maxY - minY, 1e-3)
  const cx = (minX + maxX) / 2
  const cy = (minY + maxY) / 2
  const map = (v: number, c: number) => 0.5 + (v - c) * scale
  const strokes = character.strokes.map((s): Stroke => {
    const points = s.points.map((v, i) => map(v, i % 2 === 0 ? cx : cy))
    return s.kind === 'arc' ? { ...s, points, radius: s.radius * scale } : { ...s, points }
  })
  return { strokes, thickness: character.thickness }
}

/**
 * One drawer's rendering of `character` into `out` (a width x height coverage map in [0,1]),
 * all randomness from `rng`.
 */
export function renderCharacter(
  character: GlyphCharacter,
  rng: Rng,
  width: number,
  height: number,
  jitter: GlyphJitter = DEFAULT_JITTER,
  out: Float32Array = new Float32Array(width * height),
): Float32Array {
  const canvas = createCanvas(width, height, out)
  // Affine about the centre: rotation, anisotropic scale, shear, shift.
  const theta = rng.normal() * jitter.rotation
  const sx = Math.exp(rng.normal() * jitter.scale)
  const sy = Math.exp(rng.normal() * jitter.scale)
  const shear = rng.normal() * jitter.shear
  const tx = rng.normal() * jitter.shift
  const ty = rng.normal() * jitter.shift
  const cos = Math.cos(theta), sin = Math.sin(theta)
  const a = cos * sx, b = -sin * sy + cos * sx * shear
  const c = sin * sx, d = cos * sy + sin * sx * shear
  const side = Math.min(width, height)
  const penWidth = character.thickness * side * Math.exp(rng.normal() * jitter.thickness)
  for (const stroke of character.strokes) {
    const flat = flattenStroke(perturbStroke(stroke, rng, jitter.point))
    for (let i = 0; i < flat.length; i += 2) {
      const ux = flat[i] - 0.5
      const uy = flat[i + 1] - 0.5
      flat[i] = (0.5 + a * ux + b * uy + tx) * width
      flat[i + 1] = (0.5 + c * ux + d * uy + ty) * height
    }
    strokePolyline(canvas, flat, penWidth * Math.exp(rng.normal() * 0.05))
  }
  return out
}

function perturbStroke(stroke: Stroke, rng: Rng, sigma: number): Stroke {
  const points = stroke.points.map((v) => v + rng.normal() * sigma)
  if (stroke.kind !== 'arc') return { ...stroke, points }
  return {
    ...stroke,
    points,
    radius: stroke.radius * Math.exp(rng.normal() * 0.08),
    start: stroke.start + rng.normal() * 0.1,
    sweep: stroke.sweep * Math.exp(rng.normal() * 0.08),
  }
}
