/**
 * Which sub-networks a meta-batch trains: the sandwich rule (Yu et al., BigNAS; Once-for-All's
 * progressive shrinking trains the same extremes). Task 0 runs the largest sub-network, task 1 the
 * smallest, the others random ones, all within the compute cap (config.ts computeCap):
 *   - largest(op): the deepest "uniform" network within the cap (every block the same op, kernel,
 *     width and expansion, max-pooling while the map allows it: Conv4's pattern), of those the
 *     heaviest (MACs plus activations, each relative to Conv4's; compute-cap.ts);
 *   - smallest(op): the lightest uniform one (fewest blocks, smallest g, width, kernel, expansion);
 *   - random: members of the space within the cap, each kept for `randomReuse` iterations
 *     (staggered, so one slot changes at a time) because compiling a new sub-network's sessions
 *     costs several tasks' time. A `nearUniform` share of them are a uniform network's neighbour
 *     (`neighbour`: about one gene changed), the rest drawn uniformly (shared's sampleArchitecture): searches
 *     start from the uniform networks and spend their generations a few mutations from them, a
 *     region that random mixes of the whole space (each trained for 10 of thousands of
 *     iterations) leave untrained.
 * The op of the largest and smallest rotates with the iteration, so every op's full slices train.
 * Every draw derives from (seed, iteration), so a resumed run draws what the uninterrupted one did.
 */
import {
  architectureId,
  architectureParams,
  createRng,
  sampleArchitecture,
  uniformArchitecture as uniform,
  uniformArchitectures,
  type Architecture,
  type BlockOp,
  type Rng,
  type SearchSpace,
} from '@fleetnas/shared'
import { mutate } from '../search/operators.ts'
import { conv4Architecture, trainingCost, type TrainingCost } from './compute-cap.ts'
import { SupernetConfigInvalid } from './errors.ts'

export type SubnetRole = 'largest' | 'smallest' | 'random'

export interface SubnetDraw {
  role: SubnetRole
  arch: Architecture
  id: string
}

export interface SandwichOptions {
  /** As config.ts: a multiple of Conv4's MACs and activations, 0 = no cap. */
  computeCap: number
  randomReuse: number
  seed: number
  metaBatch: number
  /** Share (0-1) of random sub-networks drawn a mutation away from a uniform network; 0 draws them all uniformly from the space. */
  nearUniform?: number
}

/** Per-gene redraw chance for a uniform network's neighbour: about one gene of the ~20 a 4-block network has. */
const NEIGHBOUR_MUTATION = 0.06

/** Random draws tried for one sub-network within the cap before giving up. */
const MAX_DRAWS = 1000

export class SandwichSampler {
  /** Conv4's cost at this input: the unit of the cap. */
  readonly reference: TrainingCost
  private readonly largestByOp = new Map<BlockOp, Architecture>()
  private readonly smallestByOp = new Map<BlockOp, Architecture>()
  private readonly randomBySlot = new Map<number, { epoch: number; arch: Architecture }>()
  private uniformCache: Architecture[] | undefined

  constructor(
    readonly space: SearchSpace,
    readonly opts: SandwichOptions,
  ) {
    this.reference = trainingCost(conv4Architecture(space), space)
    const problems: string[] = []
    for (const op of space.ops) {
      const small = this.smallestUniform(op)
      this.smallestByOp.set(op, small)
      if (!this.withinCap(small)) {
        const c = this.cost(small)
        problems.push(`computeCap ${opts.computeCap} admits no ${op} network (the smallest has ${c.macs.toFixed(3)} x Conv4's MACs, ${c.activations.toFixed(3)} x its activations)`)
      } else this.largestByOp.set(op, this.largestUniform(op))
    }
    if (problems.length > 0) throw SupernetConfigInvalid(problems)
  }

  /** MACs and activations relative to Conv4's. */
  cost(arch: Architecture): TrainingCost {
    const c = trainingCost(arch, this.space)
    return { macs: c.macs / this.reference.macs, activations: c.activations / this.reference.activations }
  }

  withinCap(arch: Architecture): boolean {
    if (this.opts.computeCap <= 0) return true
    const c = this.cost(arch)
    return c.macs <= this.opts.computeCap && c.activations <= this.opts.computeCap
  }

  largest(op: BlockOp): Architecture {
    return this.largestByOp.get(op)!
  }

  smallest(op: BlockOp): Architecture {
    return this.smallestByOp.get(op)!
  }

  /** The sub-networks of iteration `iteration`'s meta-batch, in task order. */
  draws(iteration: number): SubnetDraw[] {
    const op = this.space.ops[iteration % this.space.ops.length]
    const out: SubnetDraw[] = []
    const add = (role: SubnetRole, arch: Architecture) => out.push({ role, arch, id: architectureId(arch) })
    add('largest', this.largest(op))
    if (this.opts.metaBatch > 1) add('smallest', this.smallest(op))
    const randoms = this.opts.metaBatch - 2
    const reuse = this.opts.randomReuse
    for (let j = 0; j < randoms; j++) {
      const epoch = Math.floor((iteration + Math.floor((j * reuse) / randoms)) / reuse)
      add('random', this.random(j, epoch))
    }
    return out
  }

  /** Random slot `slot`'s sub-network in its `epoch`-th period. */
  random(slot: number, epoch: number): Architecture {
    const kept = this.randomBySlot.get(slot)
    if (kept?.epoch === epoch) return kept.arch
    const rng = createRng(`${this.opts.seed}:subnet:${slot}:${epoch}`)
    // No draw for the share when it is 0: runs from before it existed resume with the same sub-networks.
    const near = (this.opts.nearUniform ?? 0) > 0 && rng.next() < this.opts.nearUniform!
    const uniform = near ? (this.uniformCache ??= this.uniformWithinCap()) : []
    for (let i = 0; i < MAX_DRAWS; i++) {
      const arch = near ? this.neighbour(rng, rng.pick(uniform)) : sampleArchitecture(rng, this.space)
      if (this.withinCap(arch)) {
        this.randomBySlot.set(slot, { epoch, arch })
        return arch
      }
    }
    throw SupernetConfigInvalid([`computeCap ${this.opts.computeCap}: no random sub-network within it in ${MAX_DRAWS} draws; raise it`])
  }

  /**
   * `n` distinct architectures of the space drawn uniformly among those within the cap: the region
   * the supernet trained, where its inherited accuracies mean something (the accuracy predictor's
   * sample; searches under a budget near Conv4's stay in it too).
   */
  sampleWithinCap(rng: Rng, n: number): Architecture[] {
    const out = new Map<string, Architecture>()
    for (let i = 0; out.size < n && i < MAX_DRAWS * n; i++) {
      const arch = sampleArchitecture(rng, this.space)
      if (this.withinCap(arch)) out.set(architectureId(arch), arch)
    }
    return [...out.values()]
  }

  /** Every uniform network within the cap: the ones the sandwich's ends train, in the space's order. */
  uniformWithinCap(): Architecture[] {
    return uniformArchitectures(this.space).filter((a) => this.withinCap(a))
  }

  /**
   * `n` distinct uniform networks within the cap (one op, kernel, width and expansion throughout,
   * max-pooling while the map allows, Conv4's pattern), drawn at random: the kind of network the
   * sandwich trains at its ends, and the manual baselines' kind.
   */
  sampleUniformWithinCap(rng: Rng, n: number): Architecture[] {
    const s = this.space
    const out = new Map<string, Architecture>()
    for (let i = 0; out.size < n && i < MAX_DRAWS * n; i++) {
      const op = rng.pick(s.ops)
      const arch = uniform(s, rng.pick(s.multipliers), s.minBlocks + rng.int(s.maxBlocks - s.minBlocks + 1), {
        op,
        kernel: rng.pick(s.kernels),
        width: rng.pick(s.widths),
        ...(op === 'mbconv' ? { expand: rng.pick(s.expands) } : {}),
      })
      if (this.withinCap(arch)) out.set(architectureId(arch), arch)
    }
    return [...out.values()]
  }

  /** `arch` with each gene redrawn at NEIGHBOUR_MUTATION: the neighbourhood searches explore around the anchors. */
  neighbour(rng: Rng, arch: Architecture): Architecture {
    return mutate(arch, rng, { prob: NEIGHBOUR_MUTATION, space: this.space })
  }

  /**
   * `n` distinct networks within the cap, each one step (`step`, e.g. a mutation) from one of
   * `from` (drawn at random) and none of them in `from`: the neighbourhood of the uniform networks.
   */
  sampleNeighboursWithinCap(rng: Rng, from: readonly Architecture[], n: number, step: (a: Architecture) => Architecture): Architecture[] {
    const excluded = new Set(from.map(architectureId))
    const out = new Map<string, Architecture>()
    for (let i = 0; from.length > 0 && out.size < n && i < MAX_DRAWS * n; i++) {
      const arch = step(rng.pick(from))
      const id = architectureId(arch)
      if (!excluded.has(id) && this.withinCap(arch)) out.set(id, arch)
    }
    return [...out.values()]
  }

  private smallestUniform(op: BlockOp): Architecture {
    const s = this.space
    return uniform(s, Math.min(...s.multipliers), s.minBlocks, {
      op,
      kernel: Math.min(...s.kernels),
      width: Math.min(...s.widths),
      ...(op === 'mbconv' ? { expand: Math.min(...s.expands) } : {}),
    })
  }

  /** Deepest uniform network within the cap, of those the heaviest (relative MACs + activations); ties go to more parameters, then the id. */
  private largestUniform(op: BlockOp): Architecture {
    const s = this.space
    let best: { arch: Architecture; weight: number; params: number; id: string } | undefined
    for (const arch of uniformArchitectures(s, [op])) {
      if (!this.withinCap(arch)) continue
      const depth = arch.blocks.length
      const c = this.cost(arch)
      const weight = c.macs + c.activations
      const params = architectureParams(arch, s)
      const id = architectureId(arch)
      const deeper = !best || depth > best.arch.blocks.length
      const heavier = !!best && depth === best.arch.blocks.length && (weight > best.weight || (weight === best.weight && (params > best.params || (params === best.params && id > best.id))))
      if (deeper || heavier) best = { arch, weight, params, id }
    }
    return best!.arch
  }

}
