/**
 * Meta-training configuration: the written form (what callers pass, mostly optional) and the
 * resolved form (defaults applied, validated once, every problem reported together).
 */
import { MamlConfigInvalid } from './errors.ts'

export interface MamlConfig {
  way: number
  shot: number
  query: number
  innerSteps: number
  innerLr: number
  metaBatch: number
  outerLr: number
  seed: number
  /** Total meta-iterations of the run (a resumed run continues up to this count). */
  iterations: number
  /**
   * Every task starts from a zero head (the "zeroing trick" of Kao et al., ICLR 2022): the first
   * inner step then turns the head into class prototypes of the support features, and the
   * initialisation no longer favours a class order, which MAML's random labels cannot use.
   */
  zeroHead: boolean
  /**
   * Inner-loop steps at test time: what validation during training used, and so the default of
   * meta-eval and adapt (MAML papers adapt longer at test time than in training). Absent: innerSteps.
   */
  evalSteps?: number
}

/** The steps a checkpoint was validated with: what adapting to a new task should use by default. */
export function evalStepsOf(c: Pick<MamlConfig, 'innerSteps' | 'evalSteps'>): number {
  return c.evalSteps ?? c.innerSteps
}

export const MAML_DEFAULTS: Omit<MamlConfig, 'way' | 'shot' | 'query' | 'iterations'> = {
  innerSteps: 5,
  innerLr: 0.4,
  metaBatch: 4,
  outerLr: 1e-3,
  seed: 1,
  zeroHead: false,
}

export function resolveMamlConfig(c: Partial<MamlConfig> & Pick<MamlConfig, 'way' | 'shot' | 'query' | 'iterations'>): MamlConfig {
  const r: MamlConfig = {
    way: c.way,
    shot: c.shot,
    query: c.query,
    iterations: c.iterations,
    innerSteps: c.innerSteps ?? MAML_DEFAULTS.innerSteps,
    innerLr: c.innerLr ?? MAML_DEFAULTS.innerLr,
    metaBatch: c.metaBatch ?? MAML_DEFAULTS.metaBatch,
    outerLr: c.outerLr ?? MAML_DEFAULTS.outerLr,
    seed: c.seed ?? MAML_DEFAULTS.seed,
    zeroHead: c.zeroHead ?? MAML_DEFAULTS.zeroHead,
    ...(c.evalSteps !== undefined && { evalSteps: c.evalSteps }),
  }
  const problems: string[] = []
  const int = (k: Exclude<keyof MamlConfig, 'zeroHead' | 'evalSteps'>, min: number) => {
    if (!Number.isInteger(r[k]) || r[k] < min) problems.push(`${k} must be an integer >= ${min}, got ${r[k]}`)
  }
  int('way', 2)
  int('shot', 1)
  int('query', 1)
  int('iterations', 0)
  int('innerSteps', 0)
  int('metaBatch', 1)
  int('seed', 0)
  if (r.evalSteps !== undefined && (!Number.isInteger(r.evalSteps) || r.evalSteps < 0)) problems.push(`evalSteps must be an integer >= 0, got ${r.evalSteps}`)
  if (!(r.innerLr >= 0 && Number.isFinite(r.innerLr))) problems.push(`innerLr must be a finite number >= 0, got ${r.innerLr}`)
  if (!(r.outerLr > 0 && Number.isFinite(r.outerLr))) problems.push(`outerLr must be a finite number > 0, got ${r.outerLr}`)
  if (typeof r.zeroHead !== 'boolean') problems.push(`zeroHead must be true or false, got ${JSON.stringify(r.zeroHead)}`)
  if (problems.length > 0) throw MamlConfigInvalid(problems)
  return r
}
