/**
 * Uniform networks: every block the same op, kernel, width and expansion, max-pooling while the
 * feature map allows it (Conv4's pattern, at any depth and Global Expansion). They are the manual
 * baselines' kind and what a supernet's sandwich rule trains at its ends, so a search that looks
 * only at random mixes of blocks can miss the best-trained members of its own space.
 */
import { poolOut, type BlockOp } from '../blocks/block-spec.ts'
import { canDownsample, type ArchBlock, type Architecture, type SearchSpace } from './search-space.ts'

/** `depth` identical blocks, max-pooling while the feature map is at least 2x2. */
export function uniformArchitecture(space: Pick<SearchSpace, 'input'>, g: number, depth: number, block: Omit<ArchBlock, 'down'>): Architecture {
  const blocks: ArchBlock[] = []
  let h = space.input.h
  let w = space.input.w
  for (let i = 0; i < depth; i++) {
    const pool = canDownsample({ h, w, c: 1 })
    blocks.push({ ...block, down: pool ? 'maxpool' : 'none' })
    if (pool) {
      h = poolOut(h)
      w = poolOut(w)
    }
  }
  return { g, blocks }
}

/** Every uniform network of the space (of `ops`, default all), by op, depth, g, width, kernel and expansion. */
export function uniformArchitectures(space: SearchSpace, ops: readonly BlockOp[] = space.ops): Architecture[] {
  const out: Architecture[] = []
  for (const op of ops)
    for (let depth = space.minBlocks; depth <= space.maxBlocks; depth++)
      for (const g of space.multipliers)
        for (const width of space.widths)
          for (const kernel of space.kernels)
            for (const expand of op === 'mbconv' ? space.expands : [undefined])
              out.push(uniformArchitecture(space, g, depth, { op, kernel, width, ...(expand === undefined ? {} : { expand }) }))
  return out
}
