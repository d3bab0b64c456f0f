/**
 * Adam on a supernet's shared weights over the values this meta-iteration's sub-networks touched
 * only (LazyAdam, as TensorFlow Addons calls it; PyTorch's SparseAdam): the step count and bias
 * correction are global, the per-value update is maml/adam.ts adamStep's, and a slice no task of
 * the batch used keeps its weights and moments instead of drifting on stale momentum. The work is
 * in proportion to the touched values, not to the whole supernet (under the default compute cap
 * a meta-batch touches about a tenth of the 3.9 M shared values at 28x28).
 */
import type { AdamOptions, AdamState } from '../maml/adam.ts'
import type { SubnetPlan } from './subnet-plan.ts'

export class LazyAdam {
  /** The step that last updated each value (so a value shared by several plans is stepped once). */
  private readonly stepped: Int32Array
  private stamp = 0

  constructor(size: number) {
    this.stepped = new Int32Array(size)
  }

  /**
   * One Adam step on `params` at the values the plans map to, with gradient `grads * scale`
   * there; those gradient values are reset to 0 (the buffer is ready for the next iteration).
   */
  step(params: Float32Array, grads: Float32Array, state: AdamState, opts: AdamOptions, plans: Iterable<SubnetPlan>, scale = 1): void {
    const b1 = opts.beta1 ?? 0.9
    const b2 = opts.beta2 ?? 0.999
    const eps = opts.eps ?? 1e-8
    state.t += 1
    const c2 = 1 - b2 ** state.t
    const step = opts.lr / (1 - b1 ** state.t)
    const { m, v } = state
    const stamp = ++this.stamp
    const stepped = this.stepped
    for (const plan of plans) {
      const r = plan.runs
      for (let k = 0; k < r.length; k += 3) {
        const end = r[k + 1] + r[k + 2]
        for (let i = r[k + 1]; i < end; i++) {
          if (stepped[i] === stamp) continue
          stepped[i] = stamp
          const g = grads[i] * scale
          grads[i] = 0
          const mi = (m[i] = b1 * m[i] + (1 - b1) * g)
          const vi = (v[i] = b2 * v[i] + (1 - b2) * g * g)
          params[i] -= (step * mi) / (Math.sqrt(vi / c2) + eps)
        }
      }
    }
  }
}
