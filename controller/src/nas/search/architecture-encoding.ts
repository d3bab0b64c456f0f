/**
 * An architecture as a feature vector for the accuracy predictor: one-hot g and depth, per slot
 * one-hot op, kernel, width, downsample and expand (an inactive slot is all zeros, as in
 * Once-for-All's encoder), then a few numeric features that carry what the one-hots cannot say
 * to a linear model: log2 of MACs and parameters, log2 of the final feature map's side, and the
 * mean log2 of the widths after Global Expansion.
 */
import {
  architectureBlocks,
  blockMacs,
  blockParams,
  DEFAULT_SPACE,
  InvalidSpec,
  isHead,
  type Architecture,
  type SearchSpace,
} from '@fleetnas/shared'

export interface ArchitectureEncoding {
  space: SearchSpace
  /** Feature names, in vector order. */
  names: readonly string[]
  encode(arch: Architecture): Float64Array
}

const NUMERIC = ['log2-macs', 'log2-params', 'log2-final-side', 'mean-log2-width'] as const

export function architectureEncoding(space: SearchSpace = DEFAULT_SPACE): ArchitectureEncoding {
  const names: string[] = []
  /** name of a choice -> its index in the vector */
  const index = new Map<string, number>()
  const add = (name: string) => {
    index.set(name, names.length)
    names.push(name)
  }
  for (const g of space.multipliers) add(`g=${g}`)
  for (let d = space.minBlocks; d <= space.maxBlocks; d++) add(`depth=${d}`)
  for (let s = 0; s < space.maxBlocks; s++) {
    for (const op of space.ops) add(`s${s}.op=${op}`)
    for (const k of space.kernels) add(`s${s}.k=${k}`)
    for (const w of space.widths) add(`s${s}.w=${w}`)
    for (const d of space.downsamples) add(`s${s}.down=${d}`)
    for (const e of space.expands) add(`s${s}.e=${e}`)
  }
  const numericAt = names.length
  for (const n of NUMERIC) names.push(n)
  const productAt = names.length
  for (let i = 0; i < NUMERIC.length; i++) for (let j = i; j < NUMERIC.length; j++) names.push(`${NUMERIC[i]}*${NUMERIC[j]}`)

  const hot = (v: Float64Array, name: string) => {
    const i = index.get(name)
    if (i === undefined) throw InvalidSpec(`the accuracy predictor's space has no ${name}`)
    v[i] = 1
  }

  return {
    space,
    names,
    encode(arch) {
      const v = new Float64Array(names.length)
      hot(v, `g=${arch.g}`)
      hot(v, `depth=${arch.blocks.length}`)
      arch.blocks.forEach((b, s) => {
        hot(v, `s${s}.op=${b.op}`)
        hot(v, `s${s}.k=${b.kernel}`)
        hot(v, `s${s}.w=${b.width}`)
        hot(v, `s${s}.down=${b.down}`)
        if (b.op === 'mbconv') hot(v, `s${s}.e=${b.expand ?? 4}`)
      })
      const blocks = architectureBlocks(arch, space)
      let macs = 0
      let params = 0
      let logWidth = 0
      for (const b of blocks) {
        macs += blockMacs(b)
        params += blockParams(b)
        if (!isHead(b)) logWidth += Math.log2(b.outChannels)
      }
      v[numericAt] = Math.log2(macs)
      v[numericAt + 1] = Math.log2(params)
      v[numericAt + 2] = Math.log2(blocks[blocks.length - 1].input.h)
      v[numericAt + 3] = logWidth / arch.blocks.length
      let at = productAt
      for (let i = 0; i < NUMERIC.length; i++) for (let j = i; j < NUMERIC.length; j++) v[at++] = v[numericAt + i] * v[numericAt + j]
      return v
    },
  }
}
