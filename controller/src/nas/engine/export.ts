/**
 * Trained parameters into shared's `buildArchitectureModel({ params })`. The exported model is the
 * inference form (BatchNormalization with stored statistics); since training used batch statistics
 * (transductive BN, as in MAML), pass the statistics of a real batch (`engine.forward(...).stats`,
 * e.g. of the support set or the deployment data) so the export computes what training did.
 * Without statistics, mean 0 and variance 1 are used.
 */
import type { OnnxGraph, ParamSource } from '@fleetnas/shared'
import type { ParamLayout } from './param-layout.ts'

export type BatchNormStats = Map<string, { mean: Float32Array; variance: Float32Array }>

export function exportParamSource(layout: ParamLayout, params: Float32Array, stats?: BatchNormStats): (g: OnnxGraph) => ParamSource {
  return (g) => (name, dims, role) => {
    if (role === 'mean' || role === 'var') {
      const prefix = name.slice(0, name.lastIndexOf('.'))
      const s = stats?.get(prefix)
      const c = dims[0]
      const v = role === 'mean' ? (s?.mean ?? new Float32Array(c)) : (s?.variance ?? new Float32Array(c).fill(1))
      return g.floatInit(name, dims, Float32Array.from(v))
    }
    const e = layout.byName.get(name)
    if (!e) throw new Error(`parameter ${name} is not in the layout`)
    return g.floatInit(name, e.dims, params.slice(e.offset, e.offset + e.size))
  }
}
