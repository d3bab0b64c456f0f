/**
 * Genetic search under latency and size budgets (H-Meta-NAS's search; Once-for-All's evolution
 * loop). It depends on narrow functions only: a latency predictor, a parameter count, an accuracy
 * estimate (both batched, sync or async), a sampler and the space operators; the random generator
 * is seeded, and every loop is bounded.
 *
 * Each generation keeps the best `parentRatio` of the population as parents and makes
 * `population` children from them (`mutationRatio` by mutation, the rest by crossover). A child
 * over budget is repaired by up to `repairSteps` shrink steps, then replaced by a fresh child, for
 * at most `resampleRounds` rounds; a child whose latency cannot be predicted (say, blocks missing
 * from the LUT) is dropped and reported, never counted feasible. Architectures are cached by id:
 * none is predicted or evaluated twice. Seeds (say, the uniform networks a supernet trains best)
 * join the initial population when feasible, so the search starts from what is known to be good
 * rather than hoping random mixes find it. Returns the best feasible architecture, the feasible
 * seeds and the accuracy-latency Pareto front of every feasible one evaluated.
 */
import { architectureId, createRng, type Architecture, type Rng } from '@fleetnas/shared'
import { SearchFunctionInvalid } from './errors.ts'
import { byAccuracy, paretoFront } from './pareto.ts'
import { parentCount, resolveSearchSettings, type SearchConstraints, type SearchSettings } from './search-options.ts'

type MaybePromise<T> = T | Promise<T>

export interface SearchFunctions {
  /** Predicted latency of one call per architecture, in ms; undefined where it cannot be predicted. */
  latencyMs(archs: readonly Architecture[]): MaybePromise<readonly (number | undefined)[]>
  params(arch: Architecture): number
  /** Estimated accuracy per architecture (higher is better). */
  accuracy(archs: readonly Architecture[]): MaybePromise<readonly number[]>
  sample(rng: Rng): Architecture
  mutate(arch: Architecture, rng: Rng, prob: number): Architecture
  crossover(a: Architecture, b: Architecture, rng: Rng): Architecture
  /** One step toward a cheaper architecture; without it, candidates over budget are only resampled. */
  shrink?(arch: Architecture, rng: Rng): Architecture
}

/** A feasible architecture with its figures. */
export interface Candidate {
  id: string
  architecture: Architecture
  accuracy: number
  latencyMs: number
  params: number
  /** Generation that first evaluated it (0: the initial population). */
  generation: number
}

/** Distinct architectures by fate (each id is checked once). */
export interface SearchCounts {
  /** Accuracy estimates made: every one a feasible architecture. */
  evaluated: number
  /** Over the latency or parameter budget. */
  infeasible: number
  /** Latency could not be predicted. */
  unpredictable: number
  /** Over budget, made feasible by shrink steps. */
  repaired: number
  /** Children dropped because the generation already held them. */
  duplicates: number
}

export interface SearchTimings {
  totalMs: number
  latencyMs: number
  accuracyMs: number
  /** Sampling, operators, repair and bookkeeping. */
  otherMs: number
}

export interface GenerationProgress {
  generation: number
  generations: number
  best: Candidate | null
  counts: SearchCounts
  elapsedMs: number
}

export interface SearchResult {
  best: Candidate | null
  /** Pareto front of every feasible architecture evaluated, by increasing latency. */
  front: Candidate[]
  /** The seeds within budget, with their figures, in the order given. */
  seeds: Candidate[]
  /** Ids of the architectures whose latency could not be predicted, in the order met. */
  unpredictable: string[]
  counts: SearchCounts
  timings: SearchTimings
  /** Generations completed after the initial population. */
  generations: number
  aborted: boolean
  settings: SearchSettings
}

export interface SearchRunOptions {
  settings?: Partial<SearchSettings>
  /** Architectures checked first; those within budget join the initial population (beside `population` random ones). */
  seeds?: readonly Architecture[]
  signal?: AbortSignal
  onGeneration?: (progress: GenerationProgress) => void
}

type Verdict = { kind: 'feasible'; latencyMs: number; params: number } | { kind: 'infeasible' } | { kind: 'unpredictable' }
type Member = Omit<Candidate, 'accuracy' | 'generation'>

export async function evolutionSearch(fns: SearchFunctions, constraints: SearchConstraints, options: SearchRunOptions = {}): Promise<SearchResult> {
  const s = resolveSearchSettings(options.settings, constraints)
  const { signal } = options
  const rng = createRng(s.seed)
  const started = performance.now()
  const timings = { latencyMs: 0, accuracyMs: 0 }
  const counts: SearchCounts = { evaluated: 0, infeasible: 0, unpredictable: 0, repaired: 0, duplicates: 0 }
  const verdicts = new Map<string, Verdict>()
  const evaluated = new Map<string, Candidate>()
  const unpredictable: string[] = []
  let best: Candidate | null = null

  async function check(archs: readonly Architecture[], ids: readonly string[]): Promise<void> {
    const fresh: Architecture[] = []
    const freshIds: string[] = []
    const freshParams: number[] = []
    const seen = new Set<string>()
    ids.forEach((id, i) => {
      if (verdicts.has(id) || seen.has(id)) return
      seen.add(id)
      const params = fns.params(archs[i])
      if (constraints.maxParams !== undefined && params > constraints.maxParams) {
        verdicts.set(id, { kind: 'infeasible' })
        counts.infeasible++
        return
      }
      fresh.push(archs[i])
      freshIds.push(id)
      freshParams.push(params)
    })
    if (fresh.length === 0) return
    const t0 = performance.now()
    const predicted = await fns.latencyMs(fresh)
    timings.latencyMs += performance.now() - t0
    if (predicted.length !== fresh.length) throw SearchFunctionInvalid(`latencyMs gave ${predicted.length} values for ${fresh.length} architectures`)
    freshIds.forEach((id, j) => {
      const ms = predicted[j]
      if (ms === undefined || !Number.isFinite(ms)) {
        verdicts.set(id, { kind: 'unpredictable' })
        counts.unpredictable++
        unpredictable.push(id)
      } else if (ms > constraints.latencyMs) {
        verdicts.set(id, { kind: 'infeasible' })
        counts.infeasible++
      } else verdicts.set(id, { kind: 'feasible', latencyMs: ms, params: freshParams[j] })
    })
  }

  /** Up to `need` feasible members not in `taken` (which it extends); bounded by rounds and repair steps. */
  async function fill(need: number, make: () => Architecture, taken: Set<string>): Promise<Member[]> {
    const out: Member[] = []
    for (let round = 0; round < s.resampleRounds && out.length < need && !signal?.aborted; round++) {
      let pending = Array.from({ length: need - out.length }, make)
      for (let step = 0; pending.length > 0; step++) {
        const ids = pending.map(architectureId)
        await check(pending, ids)
        const over: Architecture[] = []
        pending.forEach((arch, i) => {
          const v = verdicts.get(ids[i])!
          if (v.kind === 'infeasible') over.push(arch)
          if (v.kind !== 'feasible') return
          if (taken.has(ids[i])) return void counts.duplicates++
          taken.add(ids[i])
          out.push({ id: ids[i], architecture: arch, latencyMs: v.latencyMs, params: v.params })
          if (step > 0) counts.repaired++
        })
        if (step >= s.repairSteps || !fns.shrink) break
        pending = over.map((arch) => fns.shrink!(arch, rng))
      }
    }
    return out
  }

  async function score(members: readonly Member[], generation: number): Promise<Candidate[]> {
    const fresh = members.filter((m) => !evaluated.has(m.id))
    if (fresh.length > 0) {
      const t0 = performance.now()
      const acc = await fns.accuracy(fresh.map((m) => m.architecture))
      timings.accuracyMs += performance.now() - t0
      if (acc.length !== fresh.length) throw SearchFunctionInvalid(`accuracy gave ${acc.length} values for ${fresh.length} architectures`)
      fresh.forEach((m, i) => {
        if (!Number.isFinite(acc[i])) throw SearchFunctionInvalid(`accuracy of ${m.id} is ${acc[i]}`)
        const c: Candidate = { ...m, accuracy: acc[i], generation }
        evaluated.set(m.id, c)
        if (best === null || byAccuracy(c, best) < 0) best = c
      })
      counts.evaluated += fresh.length
    }
    return members.map((m) => evaluated.get(m.id)!)
  }

  const report = (generation: number) =>
    options.onGeneration?.({ generation, generations: s.generations, best, counts: { ...counts }, elapsedMs: performance.now() - started })

  const seedIds = (options.seeds ?? []).map(architectureId)
  await check(options.seeds ?? [], seedIds)
  const inFirst = new Set<string>()
  const seeded: Member[] = []
  seedIds.forEach((id, i) => {
    const v = verdicts.get(id)!
    if (v.kind !== 'feasible' || inFirst.has(id)) return
    inFirst.add(id)
    seeded.push({ id, architecture: options.seeds![i], latencyMs: v.latencyMs, params: v.params })
  })
  const seeds = await score(seeded, 0)
  let population = [...seeds, ...(await score(await fill(s.population, () => fns.sample(rng), inFirst), 0))]
  report(0)
  const nParents = parentCount(s)
  const nMutants = Math.round(s.mutationRatio * s.population)
  let completed = 0
  for (let generation = 1; generation <= s.generations && population.length > 0; generation++) {
    // Let timers, I/O and an abort in: a whole search must not hold the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve))
    if (signal?.aborted) break
    const parents = [...population].sort(byAccuracy).slice(0, nParents)
    const pick = () => rng.pick(parents).architecture
    const taken = new Set(parents.map((p) => p.id))
    const mutants = await fill(nMutants, () => fns.mutate(pick(), rng, s.mutationProb), taken)
    const crossed = await fill(s.population - nMutants, () => fns.crossover(pick(), pick(), rng), taken)
    population = [...parents, ...(await score([...mutants, ...crossed], generation))]
    if (signal?.aborted) break
    completed = generation
    report(generation)
  }

  const totalMs = performance.now() - started
  return {
    best,
    front: paretoFront(evaluated.values()),
    seeds,
    unpredictable,
    counts,
    timings: { totalMs, ...timings, otherMs: Math.max(0, totalMs - timings.latencyMs - timings.accuracyMs) },
    generations: completed,
    aborted: signal?.aborted ?? false,
    settings: s,
  }
}
