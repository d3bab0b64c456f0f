/**
 * A tiny synthetic few-shot task family for MAML tests (10x10 blob patterns with noise and shifts),
 * with the small architecture and options the tests train on. Test support only.
 */
import { createRng, type Architecture, type Rng } from '@fleetnas/shared'
import type { FewShotTask, TaskSampler } from '../data/tasks.ts'

export const H = 10
export const space = { input: { h: H, w: H, c: 1 }, classes: 3 }
export const arch: Architecture = {
  g: 0.5,
  blocks: [
    { op: 'conv', kernel: 3, width: 16, down: 'maxpool' },
    { op: 'dwsep', kernel: 3, width: 16, down: 'none' },
  ],
}

/** 40 fixed random blob patterns; a task picks `way` of them and adds noise and shifts per image. */
export function syntheticSampler(way: number, shot: number, query: number): TaskSampler {
  const pool = createRng(42)
  const patterns = Array.from({ length: 40 }, () => Float32Array.from({ length: H * H }, () => (pool.next() < 0.3 ? 1 : 0)))
  const image = (rng: Rng, p: Float32Array, out: Float32Array, at: number) => {
    const dx = rng.int(3) - 1
    const dy = rng.int(3) - 1
    for (let y = 0; y < H; y++)
      for (let x = 0; x < H; x++) {
        const sy = Math.min(H - 1, Math.max(0, y + dy))
        const sx = Math.min(H - 1, Math.max(0, x + dx))
        out[at + y * H + x] = Math.min(1, Math.max(0, p[sy * H + sx] + 0.2 * rng.normal()))
      }
  }
  return {
    sample(rng: Rng): FewShotTask {
      const chosen = rng.shuffle(Array.from({ length: 40 }, (_, i) => i)).slice(0, way)
      const make = (per: number) => {
        const x = new Float32Array(way * per * H * H)
        const y = new Int32Array(way * per)
        for (let c = 0; c < way; c++)
          for (let i = 0; i < per; i++) {
            y[c * per + i] = c
            image(rng, patterns[chosen[c]], x, (c * per + i) * H * H)
          }
        return { x, y }
      }
      return { way, shot, query, support: make(shot), queryset: make(query) }
    },
  }
}

export const sampler = syntheticSampler(3, 1, 5)
export const base = { arch, sampler, way: 3, shot: 1, query: 5, innerSteps: 2, innerLr: 0.4, metaBatch: 2, outerLr: 3e-3, seed: 5, space }
