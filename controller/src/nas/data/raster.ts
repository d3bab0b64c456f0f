/**
 * A one-channel float canvas with anti-aliased thick polylines, enough to draw glyphs without a
 * native canvas library. Coverage of a pixel is approximated from the distance of its centre to
 * the stroke's centre line (a 1-pixel linear ramp at the edge); overlapping strokes combine by
 * max, so joints and crossings do not get darker than a single stroke, as with pen on paper.
 */

export interface Canvas {
  width: number
  height: number
  /** Row-major coverage in [0,1]. */
  data: Float32Array
}

export function createCanvas(width: number, height: number, data?: Float32Array): Canvas {
  return { width, height, data: data ?? new Float32Array(width * height) }
}

/**
 * Draws a polyline given as flat [x0,y0,x1,y1,...] pixel coordinates (pixel (i,j) covers
 * [i,i+1)x[j,j+1)) with the given stroke width in pixels.
 */
export function strokePolyline(canvas: Canvas, points: ArrayLike<number>, strokeWidth: number): void {
  const half = Math.max(strokeWidth, 0.1) / 2
  const n = points.length >> 1
  if (n === 1) {
    drawSegment(canvas, points[0], points[1], points[0], points[1], half)
    return
  }
  for (let i = 0; i + 1 < n; i++) {
    drawSegment(canvas, points[2 * i], points[2 * i + 1], points[2 * i + 2], points[2 * i + 3], half)
  }
}

function drawSegment(canvas: Canvas, ax: number, ay: number, bx: number, by: number, half: number): void {
  const { width, height, data } = canvas
  const reach = half + 0.5
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach))
  const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + reach))
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach))
  const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + reach))
  const dx = bx - ax
  const dy = by - ay
  const len2 = dx * dx + dy * dy
  const inv = len2 > 1e-12 ? 1 / len2 : 0
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5 - ay
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5 - ax
      let t = (px * dx + py * dy) * inv
      t = t < 0 ? 0 : t > 1 ? 1 : t
      const ex = px - t * dx
      const ey = py - t * dy
      const d = Math.sqrt(ex * ex + ey * ey)
      let cover = reach - d
      if (cover <= 0) continue
      if (cover > 1) cover = 1
      const at = y * width + x
      if (cover > data[at]) data[at] = cover
    }
  }
}
