/**
 * Adam (Kingma & Ba) on a flat Float32Array, in place, with bias correction. State is three plain
 * arrays and a step count so checkpoints can store and restore it exactly.
 */
export interface AdamState {
  m: Float32Array
  v: Float32Array
  /** Steps taken so far. */
  t: number
}

export interface AdamOptions {
  lr: number
  beta1?: number
  beta2?: number
  eps?: number
}

export function createAdamState(size: number): AdamState {
  return { m: new Float32Array(size), v: new Float32Array(size), t: 0 }
}

export function adamStep(params: Float32Array, grads: Float32Array, state: AdamState, opts: AdamOptions): void {
  const b1 = opts.beta1 ?? 0.9
  const b2 = opts.beta2 ?? 0.999
  const eps = opts.eps ?? 1e-8
  state.t += 1
  const c1 = 1 - b1 ** state.t
  const c2 = 1 - b2 ** state.t
  const step = opts.lr / c1
  const { m, v } = state
  for (let i = 0; i < params.length; i++) {
    const g = grads[i]
    const mi = (m[i] = b1 * m[i] + (1 - b1) * g)
    const vi = (v[i] = b2 * v[i] + (1 - b2) * g * g)
    params[i] -= (step * mi) / (Math.sqrt(vi / c2) + eps)
  }
}

/** params -= lr * grads, in place. */
export function sgdStep(params: Float32Array, grads: Float32Array, lr: number): void {
  for (let i = 0; i < params.length; i++) params[i] -= lr * grads[i]
}
