/**
 * The measurement method of DESIGN.md "Measuring", for any runner:
 *
 * - targets in a seeded shuffled order, taken a window at a time (default 12 prepared sessions);
 * - each target warmed up by count and by time;
 * - timed runs spread over `rounds` interleaved rounds (round-robin across the window) until both
 *   minRuns and minTimeMs are reached, capped by maxRuns; a burst of load hits one round only;
 * - statistics once, in stats.ts (median of round medians, p10, p90, mean, std, cv);
 * - the empty-graph overhead for each input shape measured once per job (kind 'empty') and
 *   subtracted from every target with that input (reported as overheadMs);
 * - a fixed reference block measured at the start and after every `referenceEvery` targets
 *   (kind 'reference') so drift (heat, throttling, other load) shows in the data;
 * - temperature, frequency and throttle read before and after each window;
 * - a target whose cv is above maxCv is measured again, and flagged noisy if it stays so;
 * - an AbortSignal stops between runs; a partly measured window is dropped, never reported.
 */
import { createRng, parseBlockKey, type Measurement, type MeasureSettings } from '@fleetnas/shared'
import type { Environment, EnvironmentReader } from './environment.ts'
import { MeasureCanceled } from './errors.ts'
import type { MeasureTarget, PreparedTarget, Runner } from './runners/runner.ts'
import { summarizeTimings, type TimingStats } from './stats.ts'

/** A 3.6 MMAC conv (DESIGN's example key): long enough to be stable, short enough to repeat. */
export const REFERENCE_BLOCK_KEY = 'conv-k3-s1-i28x28x16-o28x28x32-bn-relu'
/** Runs the reference this long before its first measurement: a fresh process runs slow at first. */
const PROCESS_WARMUP_MS = 150
export const DEFAULT_WINDOW = 12

export interface MeasureLoopOptions {
  runner: Runner
  settings: MeasureSettings
  /** Blocks and architectures (kind 'block' | 'architecture'); measured in a shuffled order. */
  targets: MeasureTarget[]
  seed?: number | string
  window?: number
  /** Block key of the drift reference; null measures none. */
  referenceKey?: string | null
  signal?: AbortSignal
  readEnvironment?: EnvironmentReader
  /** Called for every finished measurement (empty, reference, block, architecture), in order. */
  onMeasurement: (m: Measurement) => void | Promise<void>
  /** Targets finished so far and in total (empty and reference measurements not counted). */
  onProgress?: (done: number, total: number) => void
}

export interface MeasureLoopResult {
  measured: number
  noisy: number
  /** Reference median at the end over the one at the start (1 = no drift). */
  referenceDrift?: number
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw MeasureCanceled(String(signal.reason ?? 'canceled'))
}

/** Per target: the samples of each round, each sample the mean of `batch` back-to-back runs. */
export interface TimedSamples {
  rounds: number[][]
  batch: number
}

/**
 * A sample spans at least this long: sub-30 us targets are timed a few runs per clock pair. Longer
 * samples measured noisier on the reference VM (its noise comes in bursts), so this stays short.
 */
export const MIN_SAMPLE_MS = 0.03
const MAX_BATCH = 64

/**
 * Warm-up, then `rounds` round-robin rounds over the prepared targets. Returns raw samples only.
 * Run counts (minRuns, maxRuns) count runs, not samples.
 */
export async function timeInterleaved(
  preps: PreparedTarget[],
  s: MeasureSettings,
  signal?: AbortSignal,
  minSampleMs = MIN_SAMPLE_MS,
): Promise<TimedSamples[]> {
  const estimate: number[] = []
  for (const p of preps) {
    const t0 = performance.now()
    let last = await p.run(Math.max(1, s.warmupRuns), 1, signal)
    while (performance.now() - t0 < s.warmupMs && !signal?.aborted) {
      const per = Math.max(1e-3, minOf(last))
      const n = Math.max(1, Math.min(1000, Math.ceil((s.warmupMs - (performance.now() - t0)) / per)))
      last = await p.run(n, 1, signal)
    }
    checkAbort(signal)
    estimate.push(Math.max(1e-3, minOf(last)))
  }
  const rounds = Math.max(1, s.rounds)
  const runsPerRound = Math.ceil(s.minRuns / rounds)
  const msPerRound = s.minTimeMs / rounds
  const capPerRound = Math.max(1, Math.ceil(s.maxRuns / rounds))
  const out: TimedSamples[] = preps.map((_, i) => ({
    rounds: [],
    batch: Math.max(1, Math.min(MAX_BATCH, Math.floor(capPerRound / 4), Math.ceil(minSampleMs / estimate[i]))),
  }))
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < preps.length; i++) {
      const { batch } = out[i]
      const samples: number[] = []
      let runs = 0
      let spent = 0
      while (runs + batch <= capPerRound && (runs < runsPerRound || spent < msPerRound)) {
        const byTime = Math.ceil((msPerRound - spent) / estimate[i])
        const wantRuns = Math.min(capPerRound - runs, Math.max(1, runsPerRound - runs, byTime))
        const got = await preps[i].run(Math.max(1, Math.floor(wantRuns / batch)), batch, signal)
        checkAbort(signal)
        for (const t of got) {
          samples.push(t)
          spent += t * batch
        }
        runs += got.length * batch
      }
      if (samples.length === 0) samples.push(...(await preps[i].run(1, batch, signal)))
      out[i].rounds.push(samples)
    }
  }
  return out
}

/** Statistics of one target's samples; `samples` counts timed runs. */
function statsOf(t: TimedSamples, overheadMs: number): TimingStats {
  const st = summarizeTimings(t.rounds, overheadMs)
  return { ...st, samples: st.samples * t.batch }
}

function minOf(xs: number[]): number {
  let m = Infinity
  for (const x of xs) if (x < m) m = x
  return m
}

const dimsKey = (dims: number[]) => dims.join('x')

export async function measureTargets(opts: MeasureLoopOptions): Promise<MeasureLoopResult> {
  const { runner, settings, signal } = opts
  const windowSize = Math.max(1, opts.window ?? DEFAULT_WINDOW)
  const order = createRng(opts.seed ?? 1).shuffle([...opts.targets])
  const readEnv = opts.readEnvironment ?? (async () => ({}))
  const overheads = new Map<string, number>()
  const total = order.length
  let done = 0
  let noisyCount = 0

  const emit = async (target: MeasureTarget, kind: Measurement['kind'], stats: TimingStats, noisy: boolean, overheadMs: number | undefined, before: Environment, after: Environment) => {
    const m: Measurement = {
      key: target.key,
      kind,
      runtime: runner.runtime,
      backend: runner.backend,
      threads: runner.threads,
      medianMs: round4(stats.medianMs),
      p10Ms: round4(stats.p10Ms),
      p90Ms: round4(stats.p90Ms),
      meanMs: round4(stats.meanMs),
      stdMs: round4(stats.stdMs),
      cv: round4(stats.cv),
      samples: stats.samples,
      rounds: stats.rounds,
      noisy,
      before,
      after,
      time: new Date().toISOString(),
    }
    if (overheadMs !== undefined) m.overheadMs = round4(overheadMs)
    await opts.onMeasurement(m)
  }

  /** Measures prepared targets together; re-measures the noisy ones once. */
  const measureGroup = async (preps: PreparedTarget[], overheadOf: (p: PreparedTarget) => number) => {
    const samples = await timeInterleaved(preps, settings, signal)
    const stats = samples.map((t, i) => statsOf(t, overheadOf(preps[i])))
    const again = stats.map((st, i) => (st.cv > settings.maxCv ? i : -1)).filter((i) => i >= 0)
    const noisy = stats.map(() => false)
    if (again.length > 0) {
      // Already warm: one run to re-estimate the run time, no timed warm-up.
      const retried = await timeInterleaved(again.map((i) => preps[i]), { ...settings, warmupRuns: 1, warmupMs: 0 }, signal)
      again.forEach((i, j) => {
        stats[i] = statsOf(retried[j], overheadOf(preps[i]))
        noisy[i] = stats[i].cv > settings.maxCv
      })
    }
    return { stats, noisy }
  }

  /** Overhead of an empty graph on this input shape, measured once per job and reported. */
  const overheadFor = async (inputDims: number[]): Promise<number> => {
    const k = dimsKey(inputDims)
    const known = overheads.get(k)
    if (known !== undefined) return known
    const [, c, h, w] = inputDims
    const target: MeasureTarget = { kind: 'empty', key: `empty-i${h}x${w}x${c}`, inputDims }
    const prep = await runner.prepare(target)
    try {
      const before = await readEnv()
      const { stats, noisy } = await measureGroup([prep], () => 0)
      overheads.set(k, stats[0].medianMs)
      await emit(target, 'empty', stats[0], noisy[0], undefined, before, await readEnv())
      return stats[0].medianMs
    } finally {
      await prep.release()
    }
  }

  let reference: { target: MeasureTarget; prep: PreparedTarget; overhead: number; first?: number; last?: number } | undefined
  const measureReference = async () => {
    if (!reference) return
    const before = await readEnv()
    const { stats, noisy } = await measureGroup([reference.prep], () => reference!.overhead)
    reference.first ??= stats[0].medianMs
    reference.last = stats[0].medianMs
    await emit(reference.target, 'reference', stats[0], noisy[0], reference.overhead, before, await readEnv())
  }

  try {
    const referenceKey = opts.referenceKey === undefined ? REFERENCE_BLOCK_KEY : opts.referenceKey
    if (referenceKey !== null && settings.referenceEvery > 0 && order.length > 0) {
      const target: MeasureTarget = { kind: 'block', key: referenceKey, spec: parseBlockKey(referenceKey) }
      const prep = await runner.prepare(target)
      reference = { target, prep, overhead: 0 }
      const t0 = performance.now()
      while (performance.now() - t0 < PROCESS_WARMUP_MS) {
        await prep.run(10, 1, signal)
        checkAbort(signal)
      }
      reference.overhead = await overheadFor(prep.inputDims)
      await measureReference()
    }
    let sinceReference = 0
    opts.onProgress?.(0, total)
    for (let start = 0; start < order.length; start += windowSize) {
      checkAbort(signal)
      const slice = order.slice(start, start + windowSize)
      const preps: PreparedTarget[] = []
      try {
        for (const t of slice) preps.push(await runner.prepare(t))
        const overheadList: number[] = []
        for (const p of preps) overheadList.push(await overheadFor(p.inputDims))
        const before = await readEnv()
        const { stats, noisy } = await measureGroup(preps, (p) => overheadList[preps.indexOf(p)])
        const after = await readEnv()
        for (let i = 0; i < slice.length; i++) {
          const kind = slice[i].kind === 'architecture' ? 'architecture' : 'block'
          await emit(slice[i], kind, stats[i], noisy[i], overheadList[i], before, after)
          if (noisy[i]) noisyCount++
        }
      } finally {
        for (const p of preps) await p.release()
      }
      done += slice.length
      sinceReference += slice.length
      opts.onProgress?.(done, total)
      if (reference && sinceReference >= settings.referenceEvery && done < total) {
        await measureReference()
        sinceReference = 0
      }
    }
    if (reference && sinceReference > 0) await measureReference()
  } finally {
    await reference?.prep.release()
  }
  const result: MeasureLoopResult = { measured: done, noisy: noisyCount }
  if (reference?.first && reference.last) result.referenceDrift = reference.last / reference.first
  return result
}
