/**
 * One sub-network of a trained supernet with its inherited weights: as a MAML checkpoint
 * (`subnetCheckpoint`, what adapt, meta-eval and model export take) and its few-shot accuracy on
 * sampled tasks with a 95% confidence interval (`evaluateSubnet`, through maml/evaluate.ts): the
 * call accuracy estimation and the search make, many times over one loaded checkpoint. The layout
 * and the sub-networks' plans are cached per checkpoint object, so pass the loaded checkpoint (and a
 * worker pool, which keeps compiled sessions) rather than a path when calling repeatedly. Engines
 * created here compile without graph optimisations (sessions.ts).
 */
import type { Architecture } from '@fleetnas/shared'
import type { TaskSampler } from '../data/tasks.ts'
import type { Checkpoint } from '../maml/checkpoint.ts'
import { evalStepsOf } from '../maml/config.ts'
import { metaEvaluate, type EvaluateOptions, type EvaluateResult } from '../maml/evaluate.ts'
import { loadSupernetCheckpoint, type SupernetCheckpoint } from './checkpoint.ts'
import { SupernetConfigInvalid } from './errors.ts'
import { SubnetCache } from './subnet-cache.ts'
import { gatherParams } from './subnet-plan.ts'
import { SUBNET_OPTIMIZATION } from './sessions.ts'
import { supernetLayout, type SupernetLayout } from './supernet-layout.ts'

const perCheckpoint = new WeakMap<SupernetCheckpoint, { layout: SupernetLayout; byWay: Map<number, SubnetCache> }>()

/** The checkpoint's sub-networks at `way` classes (cached per checkpoint object and way). */
export function subnetsOf(ck: SupernetCheckpoint, way: number = ck.config.way): SubnetCache {
  let entry = perCheckpoint.get(ck)
  if (!entry) {
    entry = { layout: supernetLayout(ck.space), byWay: new Map() }
    perCheckpoint.set(ck, entry)
  }
  let cache = entry.byWay.get(way)
  if (!cache) {
    cache = new SubnetCache(entry.layout, way)
    entry.byWay.set(way, cache)
  }
  return cache
}

/**
 * The zero-head inner learning rate at another way: the support loss is a mean over way x shot
 * examples, so a step moves each class column by about lr x its class's mean feature / way; scaling
 * by way / trainWay keeps that step as in training (the rule meta-eval applies to zero-head Conv4s).
 */
export function innerLrAt(ck: SupernetCheckpoint, way: number): number {
  return ck.config.innerLr * (way / ck.config.way)
}

/** The sub-network `arch` with its inherited weights, as a MAML checkpoint at `way` classes. */
export function subnetCheckpoint(ck: SupernetCheckpoint, arch: Architecture | string, opts: { way?: number } = {}): Checkpoint {
  const way = opts.way ?? ck.config.way
  if (!Number.isInteger(way) || way < 2) throw SupernetConfigInvalid([`way must be an integer >= 2, got ${way}`])
  const s = subnetsOf(ck, way).get(arch)
  const c = ck.config
  return {
    architectureId: s.net.id,
    arch: s.arch,
    space: s.net.space,
    config: {
      way,
      shot: c.shot,
      query: c.query,
      innerSteps: c.innerSteps,
      ...(c.evalSteps !== undefined && { evalSteps: c.evalSteps }),
      innerLr: innerLrAt(ck, way),
      metaBatch: c.metaBatch,
      outerLr: c.outerLr,
      seed: c.seed,
      iterations: c.iterations,
      zeroHead: true,
    },
    iteration: ck.iteration,
    params: gatherParams(s.plan, ck.params),
    adam: { m: new Float32Array(s.plan.size), v: new Float32Array(s.plan.size), t: 0 },
  }
}

export interface SubnetEvalOptions extends EvaluateOptions {
  /** Tasks to evaluate on (their way must be `way`). */
  sampler: TaskSampler
  /** Classes per task; default the supernet's training way. */
  way?: number
}

export interface SubnetEvalResult extends EvaluateResult {
  architectureId: string
  way: number
  innerSteps: number
  innerLr: number
}

/** Few-shot accuracy (mean over tasks, 95% CI) of sub-network `arch` with inherited weights. */
export async function evaluateSubnet(checkpoint: SupernetCheckpoint | string, arch: Architecture | string, opts: SubnetEvalOptions): Promise<SubnetEvalResult> {
  const ck = typeof checkpoint === 'string' ? await loadSupernetCheckpoint(checkpoint) : checkpoint
  const sub = subnetCheckpoint(ck, arch, { way: opts.way })
  const innerSteps = opts.innerSteps ?? evalStepsOf(sub.config)
  const innerLr = opts.innerLr ?? sub.config.innerLr
  const r = await metaEvaluate(sub, opts.sampler, { graphOptimizationLevel: SUBNET_OPTIMIZATION, ...opts, innerSteps, innerLr })
  return { ...r, architectureId: sub.architectureId, way: sub.config.way, innerSteps, innerLr }
}
