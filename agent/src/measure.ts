/**
 * The measurement method of DESIGN.md "Measuring", for any runner:
 *
 * - targets in windows (default 12 prepared sessions) of one input shape where possible, the
 *   windows in a seeded shuffled order (planWindows);
 * - each target warmed up by count and by time;
 * - timed runs spread over `rounds` interleaved rounds (round-robin across the window) until both
 *   minRuns and minTimeMs are reached, capped by maxRuns; a burst of load hits one round only;
 * - with `passes` above 1, each target timed that many times in differently planned windows half a
 *   minute or more apart (a passes-th of the runs each), all rounds pooled into one measurement:
 *   host noise also comes in spells that every round of one window shares;
 * - statistics once, in stats.ts (median of round medians with its 95% bootstrap interval, p10,
 *   p90, mean, std, cv);
 * - the empty graph of each input shape in a window timed in the same rounds as its targets
 *   (kind 'empty') and subtracted from them (reported as overheadMs);
 * - a fixed reference block measured at the start and after every `referenceEvery` targets
 *   (kind 'reference') so drift (heat, throttling, other load) shows in the data;
 * - temperature, frequency and throttle read before and after each window;
 * - a target whose cv is above maxCv, or whose net median is 0 (not above the overhead of the
 *   empty graph), is measured again at the end of the job; the better reading is kept (a positive
 *   net median first, then the lower cv), flagged noisy if its cv stays above maxCv and
 *   belowOverhead if its net median stays 0;
 * - an AbortSignal stops between runs; a partly measured window is dropped, never reported.
 */
import { createRng, emptyKey, parseBlockKey, type Measurement, type MeasureSettings } from '@fleetnas/shared'
import type { Environment, EnvironmentReader } from './environment.ts'
import { MeasureCanceled } from './errors.ts'
import type { MeasureTarget, PreparedTarget, Runner } from './runners/runner.ts'
import { median, summarizeTimings, type TimingStats } from './stats.ts'

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

/**
 * Times go out to the nanosecond: most blocks take a few microseconds net of the call overhead,
 * where 0.1 us steps would be 1-3% of the figure.
 */
const roundNs = (ms: number) => Math.round(ms * 1e6) / 1e6
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

/** The input shape of a target before it is built (architectures all take the space's input). */
function shapeOf(t: MeasureTarget): string {
  switch (t.kind) {
    case 'block':
      return `${t.spec.input.h}x${t.spec.input.w}x${t.spec.input.c}`
    case 'empty':
      return dimsKey(t.inputDims)
    case 'architecture':
      return 'architecture'
  }
}

/**
 * Splits targets into measurement windows of at most `size` slots, where each distinct input shape
 * in a window takes one more slot for its empty graph. Same-shape targets share a window so one
 * empty graph, timed in the same rounds, serves them all; the windows come in a seeded shuffled
 * order so drift does not line up with block type.
 */
export function planWindows<T extends MeasureTarget>(targets: readonly T[], size: number, seed: number | string): T[][] {
  const rng = createRng(seed)
  const groups = new Map<string, T[]>()
  for (const t of rng.shuffle([...targets])) {
    const k = shapeOf(t)
    const g = groups.get(k)
    if (g) g.push(t)
    else groups.set(k, [t])
  }
  const perWindow = Math.max(1, size - 1)
  const chunks: T[][] = []
  for (const g of groups.values()) {
    const len = Math.ceil(g.length / Math.ceil(g.length / perWindow)) // even chunks, no tiny remainder
    for (let i = 0; i < g.length; i += len) chunks.push(g.slice(i, i + len))
  }
  const windows: T[][] = []
  let current: T[] = []
  let used = 0
  for (const c of chunks) {
    if (used > 0 && used + c.length + 1 > size) {
      windows.push(current)
      current = []
      used = 0
    }
    current.push(...c)
    used += c.length + 1
  }
  if (current.length > 0) windows.push(current)
  return rng.shuffle(windows)
}

/** The net median as reported (to the ns) is 0: the target is not resolved above the overhead. */
const isBelowOverhead = (st: TimingStats) => roundNs(st.medianMs) <= 0

/** Of two readings of one target: the one with a positive net median, then the lower cv. */
function betterReading(first: WindowResult, again: WindowResult): WindowResult {
  const under = [first, again].map((r) => isBelowOverhead(r.stats))
  if (under[0] !== under[1]) return under[0] ? again : first
  return again.stats.cv <= first.stats.cv ? again : first
}

interface WindowResult {
  target: MeasureTarget
  stats: TimingStats
  overheadMs: number
  before: Environment
  after: Environment
}

/** One target's raw timing in one window, with that window's empty-graph median for its shape. */
interface WindowTiming {
  target: MeasureTarget
  samples: TimedSamples
  overheadMs: number
  before: Environment
  after: Environment
}

/** A target's windows (one per pass) as one reading: every round pooled, the overheads' median subtracted. */
function pooled(timings: readonly WindowTiming[]): WindowResult {
  const overheadMs = median(timings.map((t) => t.overheadMs))
  const st = summarizeTimings(
    timings.flatMap((t) => t.samples.rounds),
    overheadMs,
  )
  const runs = timings.reduce((n, t) => n + t.samples.rounds.reduce((m, r) => m + r.length, 0) * t.samples.batch, 0)
  return { target: timings[0].target, stats: { ...st, samples: runs }, overheadMs, before: timings[0].before, after: timings[timings.length - 1].after }
}

/**
 * Windows measured in passes go in groups long enough (about half a minute of timing at one
 * thread) for a target's passes to fall in different spells of host noise; one pass: a group is
 * one window, so results and progress come window by window as before.
 */
const WINDOWS_PER_GROUP = 24
function groupWindows<T>(windows: T[], passes: number): T[][] {
  const size = passes === 1 ? 1 : WINDOWS_PER_GROUP
  const groups: T[][] = []
  for (let i = 0; i < windows.length; i += size) groups.push(windows.slice(i, i + size))
  return groups
}

export async function measureTargets(opts: MeasureLoopOptions): Promise<MeasureLoopResult> {
  const { runner, settings, signal } = opts
  const windowSize = Math.max(2, opts.window ?? DEFAULT_WINDOW)
  const seed = opts.seed ?? 1
  const readEnv = opts.readEnvironment ?? (async () => ({}))
  const total = opts.targets.length
  let done = 0
  let noisyCount = 0

  const emit = async (target: MeasureTarget, kind: Measurement['kind'], stats: TimingStats, noisy: boolean, overheadMs: number | undefined, before: Environment, after: Environment, belowOverhead = false) => {
    const m: Measurement = {
      key: target.key,
      kind,
      runtime: runner.runtime,
      backend: runner.backend,
      threads: runner.threads,
      medianMs: roundNs(stats.medianMs),
      ciLowMs: roundNs(stats.ciLowMs),
      ciHighMs: roundNs(stats.ciHighMs),
      p10Ms: roundNs(stats.p10Ms),
      p90Ms: roundNs(stats.p90Ms),
      meanMs: roundNs(stats.meanMs),
      stdMs: roundNs(stats.stdMs),
      cv: round4(stats.cv),
      samples: stats.samples,
      rounds: stats.rounds,
      noisy,
      before,
      after,
      time: new Date().toISOString(),
    }
    if (overheadMs !== undefined) m.overheadMs = roundNs(overheadMs)
    if (belowOverhead) m.belowOverhead = true
    await opts.onMeasurement(m)
  }

  /**
   * Times the targets together with the empty graph of each of their input shapes, in the same
   * interleaved rounds: the overhead subtracted from a target was measured under the same
   * conditions (load, frequency, cache) as the target itself. The empty graphs are reported too.
   * Returns raw samples; `pooled` turns a target's passes into one reading.
   */
  const timeWindow = async (targets: MeasureTarget[], s: MeasureSettings): Promise<WindowTiming[]> => {
    const preps: PreparedTarget[] = []
    const empties = new Map<string, { target: MeasureTarget; prep: PreparedTarget }>()
    try {
      for (const t of targets) preps.push(await runner.prepare(t))
      for (const p of preps) {
        const k = dimsKey(p.inputDims)
        if (empties.has(k)) continue
        const [, c, h, w] = p.inputDims
        const target: MeasureTarget = { kind: 'empty', key: emptyKey({ h, w, c }), inputDims: p.inputDims }
        empties.set(k, { target, prep: await runner.prepare(target) })
      }
      checkAbort(signal)
      const emptyList = [...empties.values()]
      const before = await readEnv()
      const samples = await timeInterleaved([...preps, ...emptyList.map((e) => e.prep)], s, signal)
      const after = await readEnv()
      const overhead = new Map<string, number>()
      for (const [j, e] of emptyList.entries()) {
        const st = statsOf(samples[preps.length + j], 0)
        overhead.set(dimsKey(e.prep.inputDims), st.medianMs)
        await emit(e.target, 'empty', st, st.cv > s.maxCv, undefined, before, after)
      }
      return targets.map((target, i) => ({ target, samples: samples[i], overheadMs: overhead.get(dimsKey(preps[i].inputDims))!, before, after }))
    } finally {
      for (const p of preps) await p.release()
      for (const e of empties.values()) await e.prep.release()
    }
  }

  /**
   * Measures `targets` in `passes` passes over their windows (each pass's windows planned anew, so
   * a target meets other company at another time) and pools each target's rounds into one reading;
   * its overhead is the median of its windows' empty-graph medians. Nothing is returned, or
   * reported, until the last pass: a partly measured group is dropped like a partly measured window.
   */
  const passes = Math.max(1, settings.passes ?? 1)
  const perPass: MeasureSettings =
    passes === 1
      ? settings
      : { ...settings, minRuns: Math.ceil(settings.minRuns / passes), minTimeMs: settings.minTimeMs / passes, maxRuns: Math.max(1, Math.ceil(settings.maxRuns / passes)) }
  const measureGroup = async (windows: MeasureTarget[][], groupSeed: string): Promise<WindowResult[]> => {
    const timings = new Map<string, WindowTiming[]>()
    const targets = windows.flat()
    for (let pass = 0; pass < passes; pass++) {
      for (const window of pass === 0 ? windows : planWindows(targets, windowSize, `${groupSeed}/pass${pass}`)) {
        checkAbort(signal)
        for (const t of await timeWindow(window, perPass)) {
          const list = timings.get(t.target.key)
          if (list) list.push(t)
          else timings.set(t.target.key, [t])
        }
      }
    }
    return targets.map((target) => pooled(timings.get(target.key)!))
  }

  const reference = (() => {
    const key = opts.referenceKey === undefined ? REFERENCE_BLOCK_KEY : opts.referenceKey
    if (key === null || settings.referenceEvery <= 0 || total === 0) return undefined
    return { target: { kind: 'block', key, spec: parseBlockKey(key) } as MeasureTarget, first: 0, last: 0 }
  })()
  const measureReference = async () => {
    if (!reference) return
    const [r] = (await timeWindow([reference.target], settings)).map((t) => pooled([t]))
    reference.first ||= r.stats.medianMs
    reference.last = r.stats.medianMs
    await emit(r.target, 'reference', r.stats, r.stats.cv > settings.maxCv, r.overheadMs, r.before, r.after)
  }

  if (reference) {
    // A fresh process runs slow at first: spin the reference block before anything is timed.
    const prep = await runner.prepare(reference.target)
    try {
      const t0 = performance.now()
      while (performance.now() - t0 < PROCESS_WARMUP_MS) {
        await prep.run(10, 1, signal)
        checkAbort(signal)
      }
    } finally {
      await prep.release()
    }
    await measureReference()
  }

  let sinceReference = 0
  const afterTargets = async (n: number) => {
    done += n
    sinceReference += n
    opts.onProgress?.(done, total)
    if (reference && sinceReference >= settings.referenceEvery && done < total) {
      await measureReference()
      sinceReference = 0
    }
  }

  // A target noisier than maxCv, or not measurably slower than its empty graph, is measured again
  // at the end of the job, in other company and well after the burst that disturbed it; the better
  // of its two measurements is kept.
  const isNoisy = (r: WindowResult) => r.stats.cv > settings.maxCv
  const deferred = new Map<string, WindowResult>()
  opts.onProgress?.(0, total)
  for (const [g, group] of groupWindows(planWindows(opts.targets, windowSize, seed), passes).entries()) {
    const results = await measureGroup(group, `${seed}/${g}`)
    let emitted = 0
    for (const r of results) {
      if (isNoisy(r) || isBelowOverhead(r.stats)) {
        deferred.set(r.target.key, r)
        continue
      }
      await emit(r.target, r.target.kind === 'architecture' ? 'architecture' : 'block', r.stats, false, r.overheadMs, r.before, r.after)
      emitted++
    }
    if (emitted > 0) await afterTargets(emitted)
  }
  for (const [g, group] of groupWindows(planWindows([...deferred.values()].map((r) => r.target), windowSize, `${seed}/again`), passes).entries()) {
    const results = await measureGroup(group, `${seed}/again/${g}`)
    for (const again of results) {
      const r = betterReading(deferred.get(again.target.key)!, again)
      if (isNoisy(r)) noisyCount++
      await emit(r.target, r.target.kind === 'architecture' ? 'architecture' : 'block', r.stats, isNoisy(r), r.overheadMs, r.before, r.after, isBelowOverhead(r.stats))
    }
    await afterTargets(results.length)
  }
  if (reference && sinceReference > 0) await measureReference()

  const result: MeasureLoopResult = { measured: done, noisy: noisyCount }
  if (reference && reference.first > 0 && reference.last > 0) result.referenceDrift = reference.last / reference.first
  return result
}
