/**
 * The machine's own timing noise, for reading a campaign's cv figures: a seeded handful of the
 * space's blocks, each timed alone in one contiguous stretch of single runs (no rounds, no other
 * blocks in between) through the agent's onnxruntime runner, and a pure JavaScript loop of about
 * the same length as a small block. A campaign spreads each block over rounds and re-measures the
 * noisy ones, but every figure it reports is still the spread of single runs: when the blocks
 * timed alone already spread more than a target allows, no measuring method can meet it here.
 */
import { createRng, parseBlockKey, spaceBlockKeys } from '@fleetnas/shared'
import { createOnnxRuntimeRunner } from '../../agent/src/runners/onnxruntime-runner.ts'
import { median, robustCv } from '../../agent/src/stats.ts'

export interface NoiseFloor {
  blocks: number
  msPerBlock: number
  /** Median over the blocks of the robust cv of their single runs. */
  medianCv: number
  shareOverLimit: number
  /** Robust cv of a register-only JavaScript loop timed the same way (the clock and the JS path). */
  jsLoopCv: number
}

export interface NoiseFloorOptions {
  blocks?: number
  msPerBlock?: number
  threads?: number
  seed?: number
  cvLimit?: number
}

let sink = 0
/** About 5 us of dependent integer arithmetic: no memory traffic, no native call. */
function jsLoop(): void {
  let a = sink | 1
  for (let i = 0; i < 4000; i++) a = (Math.imul(a, 1664525) + 1013904223) | 0
  sink = a
}

function timeJsLoop(ms: number): number[] {
  const times: number[] = []
  const end = performance.now() + ms
  while (performance.now() < end) {
    const t0 = performance.now()
    jsLoop()
    times.push(performance.now() - t0)
  }
  return times
}

export async function measureNoiseFloor(opts: NoiseFloorOptions = {}): Promise<NoiseFloor> {
  const { blocks = 24, msPerBlock = 150, threads = 1, seed = 11, cvLimit = 0.05 } = opts
  const keys = createRng(seed).shuffle([...spaceBlockKeys()]).slice(0, blocks)
  const runner = createOnnxRuntimeRunner({ threads })
  const cvs: number[] = []
  try {
    for (const key of keys) {
      const prep = await runner.prepare({ kind: 'block', key, spec: parseBlockKey(key) })
      try {
        const warm = performance.now()
        while (performance.now() - warm < 20) await prep.run(10)
        const times: number[] = []
        const start = performance.now()
        while (performance.now() - start < msPerBlock) times.push(...(await prep.run(20)))
        cvs.push(robustCv(times))
      } finally {
        await prep.release()
      }
    }
  } finally {
    await runner.dispose()
  }
  timeJsLoop(20)
  return {
    blocks: keys.length,
    msPerBlock,
    medianCv: median(cvs),
    shareOverLimit: cvs.filter((c) => c > cvLimit).length / cvs.length,
    jsLoopCv: robustCv(timeJsLoop(msPerBlock)),
  }
}
