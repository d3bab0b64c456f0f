/**
 * The calibration set of a LUT's latency model: architectures measured whole, drawn from a seed, in
 * three strata interleaved so that any prefix holds them in proportion (random, compact, random,
 * uniform, ...):
 *  - random members of the space (half): what the model must get right on average; the same draws,
 *    in the same order, as the set was before it had strata;
 *  - compact networks (a quarter): random blocks, each downsampling (max-pool or stride) while the
 *    feature map allows, so the last blocks run on 3x3 and 1x1 maps. Uniform sampling rarely draws
 *    them (7 of 303 random architectures had two such blocks, none more), yet the small networks a
 *    latency-bounded search answers with are of this kind;
 *  - uniform networks (a quarter): Conv4's pattern at any op, width, depth and g (uniform.ts), the
 *    baselines users compare answers with and the networks a supernet trains best.
 */
import { createRng, type Rng } from '../random.ts'
import { architectureBlocks, architectureId, canDownsample, sampleArchitecture, type ArchBlock, type Architecture, type Downsample, type SearchSpace, DEFAULT_SPACE } from './search-space.ts'
import { uniformArchitectures } from './uniform.ts'

export type CalibrationStratum = 'random' | 'compact' | 'uniform'

/** The stratum of the i-th member of a calibration set (the interleaving of the header). */
export function calibrationStratum(i: number): CalibrationStratum {
  return (['random', 'compact', 'random', 'uniform'] as const)[i % 4]
}

/** Random blocks, each downsampling while the feature map is at least 2x2 (the space permitting). */
export function sampleCompactArchitecture(rng: Rng, space: SearchSpace = DEFAULT_SPACE): Architecture {
  const depth = space.minBlocks + rng.int(space.maxBlocks - space.minBlocks + 1)
  const g = rng.pick(space.multipliers)
  const blocks: ArchBlock[] = []
  const downsampling = space.downsamples.filter((d): d is Exclude<Downsample, 'none'> => d !== 'none')
  for (let i = 0; i < depth; i++) {
    const shape = blocks.length === 0 ? space.input : architectureBlocks({ g, blocks }, space).at(-1)!.input
    const down: Downsample = canDownsample(shape) && downsampling.length > 0 ? rng.pick(downsampling) : 'none'
    const op = rng.pick(space.ops)
    const b: ArchBlock = { op, kernel: rng.pick(space.kernels), width: rng.pick(space.widths), down }
    if (op === 'mbconv') b.expand = rng.pick(space.expands)
    blocks.push(b)
  }
  return { g, blocks }
}

/**
 * `count` distinct architectures, strata interleaved as `calibrationStratum` says. Bounded: a
 * space too small for `count` yields what 50 draws per wanted member found.
 */
export function calibrationArchitectures(count: number, seed: number, space: SearchSpace = DEFAULT_SPACE): Architecture[] {
  const uniform = uniformArchitectures(space)
  const draw: Record<CalibrationStratum, () => Architecture> = {
    random: ((rng) => () => sampleArchitecture(rng, space))(createRng(`calibration/${seed}`)),
    compact: ((rng) => () => sampleCompactArchitecture(rng, space))(createRng(`calibration/${seed}/compact`)),
    uniform: ((rng) => () => rng.pick(uniform))(createRng(`calibration/${seed}/uniform`)),
  }
  const out = new Map<string, Architecture>()
  for (let tries = 0; out.size < count && tries < 50 * count; tries++) {
    const a = draw[calibrationStratum(out.size)]()
    const id = architectureId(a)
    if (!out.has(id)) out.set(id, a)
  }
  return [...out.values()]
}
