/**
 * Search options: the written form (all optional) and the resolved form (defaults applied,
 * validated once, every problem reported together). Defaults follow Once-for-All's evolution
 * (population 100, a quarter kept as parents, half the children by mutation, gene prob 0.1).
 */
import { SearchOptionsInvalid } from './errors.ts'

export interface SearchConstraints {
  /** Budget on the predicted latency of one call, in ms. */
  latencyMs: number
  /** Budget on trainable parameters (architectureParams). */
  maxParams?: number
}

export interface SearchSettings {
  /** Children made per generation, and the size of the first population. */
  population: number
  generations: number
  /** Share of the population kept as parents (the best by accuracy). */
  parentRatio: number
  /** Share of the children made by mutation; the rest by crossover. */
  mutationRatio: number
  /** Chance that each gene is redrawn by a mutation. */
  mutationProb: number
  seed: number | string
  /** Shrink steps tried on a candidate over budget before it is dropped. */
  repairSteps: number
  /** Rounds of fresh candidates tried to fill a population (each round then repairs). */
  resampleRounds: number
}

export const SEARCH_DEFAULTS: SearchSettings = {
  population: 100,
  generations: 30,
  parentRatio: 0.25,
  mutationRatio: 0.5,
  mutationProb: 0.1,
  seed: 1,
  repairSteps: 4,
  resampleRounds: 20,
}

export function resolveSearchSettings(written: Partial<SearchSettings> = {}, constraints?: SearchConstraints): SearchSettings {
  const defined = Object.fromEntries(Object.entries(written).filter(([, v]) => v !== undefined)) as Partial<SearchSettings>
  const s: SearchSettings = { ...SEARCH_DEFAULTS, ...defined }
  const problems: string[] = []
  const int = (name: keyof SearchSettings, min: number) => {
    const v = s[name]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.push(`${name} must be an integer >= ${min}, got ${String(v)}`)
  }
  const ratio = (name: keyof SearchSettings, lowOpen: boolean) => {
    const v = s[name]
    if (typeof v !== 'number' || !(lowOpen ? v > 0 : v >= 0) || v > 1) problems.push(`${name} must be in ${lowOpen ? '(0' : '[0'}, 1], got ${String(v)}`)
  }
  int('population', 2)
  int('generations', 0)
  int('repairSteps', 0)
  int('resampleRounds', 1)
  ratio('parentRatio', true)
  ratio('mutationRatio', false)
  ratio('mutationProb', false)
  if (typeof s.seed !== 'number' && typeof s.seed !== 'string') problems.push('seed must be a number or a string')
  if (constraints) {
    if (!(constraints.latencyMs > 0)) problems.push(`constraints.latencyMs must be > 0 ms, got ${String(constraints.latencyMs)}`)
    if (constraints.maxParams !== undefined && !(constraints.maxParams > 0)) problems.push(`constraints.maxParams must be > 0, got ${String(constraints.maxParams)}`)
  }
  if (problems.length > 0) throw SearchOptionsInvalid(problems)
  return s
}

/** Parents kept per generation: at least one. */
export function parentCount(s: SearchSettings): number {
  return Math.max(1, Math.round(s.parentRatio * s.population))
}
