/**
 * Reverse-mode differentiation over ONNX graphs, by hand-derived rules per op. Each forward method
 * emits its ONNX nodes and records a backward rule on a tape; `backward(loss)` replays the tape in
 * reverse, emitting gradient nodes into the same graph and summing gradients of tensors used twice
 * (the residual input of mbconv).
 *
 * Tensors are NCHW float32 with static shapes (sessions are built per batch size). Rules:
 *   Conv           dX = ConvTranspose(dY, W) with output_padding restoring the input size;
 *                  dW = Conv(X as [cin/G, G*N, H, W], dY as [G*cout/G, N, Ho, Wo], group G,
 *                       dilation = stride) — batch and channels swapped, then sliced/transposed.
 *                  1x1 stride-1 convs use one Gemm for dW instead.
 *   BatchNorm      batch statistics (training, as in MAML): xhat = (x - mean) / sqrt(var + eps),
 *                  dx = a*dy + b*xhat + c per channel with a = gamma*rstd, b = -a*dgamma/M,
 *                  c = -a*dbeta/M; per-channel affine maps use BatchNormalization(eps=0, mean 0, var 1).
 *   Relu           dx = dy where y > 0.
 *   MaxPool        indices output, then ScatterElements of dY into a zero tensor.
 *   GAP + Flatten  dx = dy / (H*W) broadcast.
 *   Gemm           dW = f^T dl, db = sum dl, df = dl W^T.
 *   SoftmaxCE      mean over batch; dl = (softmax - onehot) / N.
 */
import type { OnnxGraph } from '@fleetnas/shared'

export type Dims = number[]

type Backward = (dOut: string) => void

const BN_EPS = 1e-5

export class GradTape {
  private readonly shapes = new Map<string, Dims>()
  private readonly needsGrad = new Set<string>()
  private readonly tape: { out: string; backward: Backward }[] = []
  private readonly grads = new Map<string, string>()

  constructor(
    readonly g: OnnxGraph,
    private readonly consts: GraphConstants,
  ) {}

  /** Declares a tensor and its shape; `trainable` tensors get gradients. */
  declare(name: string, dims: Dims, trainable: boolean): string {
    this.shapes.set(name, dims)
    if (trainable) this.needsGrad.add(name)
    return name
  }

  shape(name: string): Dims {
    const s = this.shapes.get(name)
    if (!s) throw new Error(`grad tape: unknown tensor ${name}`)
    return s
  }

  private result(name: string, dims: Dims, inputs: string[], backward: Backward): string {
    this.shapes.set(name, dims)
    if (inputs.some((i) => this.needsGrad.has(i))) {
      this.needsGrad.add(name)
      this.tape.push({ out: name, backward })
    }
    return name
  }

  private wants(name: string): boolean {
    return this.needsGrad.has(name)
  }

  /** Adds `d` to the gradient of `name` (summing when a tensor feeds several ops). */
  private accumulate(name: string, d: string): void {
    if (!this.wants(name)) return
    const prev = this.grads.get(name)
    this.grads.set(name, prev === undefined ? d : this.g.op('Add', [prev, d]))
  }

  conv(x: string, w: string, opts: { kernel: number; stride: number; pad: number; group: number }): string {
    const g = this.g
    const [n, cin, h, wd] = this.shape(x)
    const [cout] = this.shape(w)
    const { kernel: k, stride: s, pad: p, group } = opts
    const ho = Math.floor((h + 2 * p - k) / s) + 1
    const wo = Math.floor((wd + 2 * p - k) / s) + 1
    const y = g.op('Conv', [x, w], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], group })
    return this.result(y, [n, cout, ho, wo], [x, w], (dy) => {
      if (this.wants(x)) {
        const outPad = [h - ((ho - 1) * s + k - 2 * p), wd - ((wo - 1) * s + k - 2 * p)]
        const dx = g.op('ConvTranspose', [dy, w], {
          kernel_shape: [k, k],
          strides: [s, s],
          pads: [p, p, p, p],
          group,
          output_padding: outPad,
        })
        this.accumulate(x, dx)
      }
      if (this.wants(w)) this.accumulate(w, this.convWeightGrad(x, dy, { n, cin, h, wd, cout, ho, wo, k, s, p, group }))
    })
  }

  private convWeightGrad(
    x: string,
    dy: string,
    d: { n: number; cin: number; h: number; wd: number; cout: number; ho: number; wo: number; k: number; s: number; p: number; group: number },
  ): string {
    const g = this.g
    const c = this.consts
    const { n, cin, h, wd, cout, ho, wo, k, s, p, group } = d
    if (k === 1 && s === 1 && p === 0 && group === 1) {
      // dW[co, ci] = sum over n, pixels of dY[n, co] X[n, ci]: one GEMM on [cout, N*HW] x [N*HW, cin].
      const dyT = g.op('Reshape', [g.op('Transpose', [dy], { perm: [1, 0, 2, 3] }), c.shape([cout, n * ho * wo])])
      const xT = g.op('Reshape', [g.op('Transpose', [x], { perm: [1, 0, 2, 3] }), c.shape([cin, n * h * wd])])
      const dw = g.op('Gemm', [dyT, xT], { transB: 1 })
      return g.op('Reshape', [dw, c.shape([cout, cin, 1, 1])])
    }
    const cig = cin / group
    const cog = cout / group
    // X -> [cig, G*N, H, W]: the per-group input channels become the batch, images become channels.
    let xr = g.op('Reshape', [x, c.shape([n, group, cig, h, wd])])
    xr = g.op('Transpose', [xr], { perm: [2, 1, 0, 3, 4] })
    xr = g.op('Reshape', [xr, c.shape([cig, group * n, h, wd])])
    // dY -> [G*cog, N, Ho, Wo]: used as the kernel, dilated by the forward stride.
    let dyr = g.op('Reshape', [dy, c.shape([n, group, cog, ho, wo])])
    dyr = g.op('Transpose', [dyr], { perm: [1, 2, 0, 3, 4] })
    dyr = g.op('Reshape', [dyr, c.shape([cout, n, ho, wo])])
    let r = g.op('Conv', [xr, dyr], { kernel_shape: [ho, wo], dilations: [s, s], pads: [p, p, p, p], group })
    const kh = h + 2 * p - (ho - 1) * s
    const kw = wd + 2 * p - (wo - 1) * s
    if (kh !== k || kw !== k) r = g.op('Slice', [r, c.ints([0, 0]), c.ints([k, k]), c.ints([2, 3])])
    if (cig === 1) return g.op('Reshape', [r, c.shape([cout, 1, k, k])])
    return g.op('Transpose', [r], { perm: [1, 0, 2, 3] })
  }

  /**
   * BatchNormalization with batch statistics. Also returns the batch mean and variance ([C]) so an
   * exported inference model can be given the statistics of a real batch.
   */
  batchNorm(x: string, gamma: string, beta: string): { y: string; mean: string; variance: string } {
    const g = this.g
    const c = this.consts
    const dims = this.shape(x)
    const [n, ch, h, w] = dims
    const m = n * h * w
    const mean4 = g.op('ReduceMean', [x], { axes: [0, 2, 3], keepdims: 1 })
    const xc = g.op('Sub', [x, mean4])
    this.shapes.set(xc, dims)
    const variance = g.op('Mul', [g.op('ReduceSumSquare', [xc], { axes: [0, 2, 3], keepdims: 0 }), c.scalar(1 / m)])
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, c.scalar(BN_EPS)])])])
    const xhat = this.affine(xc, rstd, c.zeros(ch))
    const y = this.affine(xhat, gamma, beta)
    const mean = g.op('Reshape', [mean4, c.shape([ch])])
    const out = this.result(y, dims, [x, gamma, beta], (dy) => {
      const dbeta = g.op('ReduceSum', [dy, c.ints([0, 2, 3])], { keepdims: 0 })
      const dgamma = g.op('ReduceSum', [g.op('Mul', [dy, xhat]), c.ints([0, 2, 3])], { keepdims: 0 })
      this.accumulate(beta, dbeta)
      this.accumulate(gamma, dgamma)
      if (this.wants(x)) {
        const a = g.op('Mul', [gamma, rstd])
        const aNeg = g.op('Mul', [a, c.scalar(-1 / m)])
        const b = g.op('Mul', [aNeg, dgamma])
        const cc = g.op('Mul', [aNeg, dbeta])
        const dx = g.op('Add', [this.affine(dy, a, c.zeros(ch), dims), this.affine(xhat, b, cc, dims)])
        this.accumulate(x, dx)
      }
    })
    return { y: out, mean, variance }
  }

  /** Per-channel `x * scale + bias` as one fused op (BatchNormalization with mean 0, var 1, eps 0). */
  private affine(x: string, scale: string, bias: string, dims: Dims = this.shape(x)): string {
    const ch = dims[1]
    const y = this.g.op('BatchNormalization', [x, scale, bias, this.consts.zeros(ch), this.consts.ones(ch)], { epsilon: { float: 0 } })
    this.shapes.set(y, dims)
    return y
  }

  relu(x: string): string {
    const g = this.g
    const y = g.op('Relu', [x])
    return this.result(y, this.shape(x), [x], (dy) => {
      this.accumulate(x, g.op('Where', [g.op('Greater', [y, this.consts.scalar(0)]), dy, this.consts.scalar(0)]))
    })
  }

  /** 2x2 max-pool, stride 2, floor mode. */
  maxPool2(x: string): string {
    const g = this.g
    const [n, ch, h, w] = this.shape(x)
    const y = g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })
    return this.result(y, [n, ch, Math.floor(h / 2), Math.floor(w / 2)], [x], (dy) => {
      this.accumulate(x, this.poolBackward(x, y, dy))
    })
  }

  /**
   * Relu then 2x2 max-pool, differentiated together: the gradient reaches the window positions
   * equal to their pooled maximum where that maximum is positive (Relu's mask, taken on the small
   * pooled tensor). Cheaper than MaxPool indices + ScatterElements, and no Relu mask pass.
   */
  reluMaxPool2(x: string): string {
    const g = this.g
    const [n, ch, h, w] = this.shape(x)
    const r = g.op('Relu', [x])
    const y = g.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] })
    this.shapes.set(r, [n, ch, h, w])
    return this.result(y, [n, ch, Math.floor(h / 2), Math.floor(w / 2)], [x], (dy) => {
      const zero = this.consts.scalar(0)
      const dyPos = g.op('Where', [g.op('Greater', [y, zero]), dy, zero])
      this.accumulate(x, this.poolBackward(r, y, dyPos))
    })
  }

  /**
   * Max-pool backward by an equality mask: view the (cropped) input as [N, C, Ho, 2, Wo, 2] and the
   * pooled output and its gradient as [N, C, Ho, 1, Wo, 1]; positions equal to their window's max
   * take the gradient. Exact ties (probability zero for real-valued inputs) share it.
   */
  private poolBackward(x: string, y: string, dy: string): string {
    const g = this.g
    const c = this.consts
    const [n, ch, h, w] = this.shape(x)
    const ho = Math.floor(h / 2)
    const wo = Math.floor(w / 2)
    const cropped = h !== 2 * ho || w !== 2 * wo ? g.op('Slice', [x, c.ints([0, 0]), c.ints([2 * ho, 2 * wo]), c.ints([2, 3])]) : x
    const x6 = g.op('Reshape', [cropped, c.shape([n, ch, ho, 2, wo, 2])])
    const y6 = g.op('Reshape', [y, c.shape([n, ch, ho, 1, wo, 1])])
    const dy6 = g.op('Reshape', [dy, c.shape([n, ch, ho, 1, wo, 1])])
    const dx6 = g.op('Where', [g.op('Equal', [x6, y6]), dy6, c.scalar(0)])
    let dx = g.op('Reshape', [dx6, c.shape([n, ch, 2 * ho, 2 * wo])])
    if (cropped !== x) dx = g.op('Pad', [dx, c.ints([0, 0, 0, 0, 0, 0, h - 2 * ho, w - 2 * wo])])
    return dx
  }

  add(a: string, b: string): string {
    const y = this.g.op('Add', [a, b])
    return this.result(y, this.shape(a), [a, b], (dy) => {
      this.accumulate(a, dy)
      this.accumulate(b, dy)
    })
  }

  /** GlobalAveragePool then Flatten: [N, C, H, W] -> [N, C]. */
  globalAvgPool(x: string): string {
    const g = this.g
    const [n, ch, h, w] = this.shape(x)
    const y = g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: 1 })
    return this.result(y, [n, ch], [x], (dy) => {
      const scale = this.consts.filled(`gap_${h}x${w}`, [1, 1, h, w], 1 / (h * w))
      this.accumulate(x, g.op('Mul', [g.op('Reshape', [dy, this.consts.shape([n, ch, 1, 1])]), scale]))
    })
  }

  /** f [N, C] x w [C, K] + b [K]. */
  gemm(f: string, w: string, b: string): string {
    const g = this.g
    const [n] = this.shape(f)
    const [, k] = this.shape(w)
    const y = g.op('Gemm', [f, w, b])
    return this.result(y, [n, k], [f, w, b], (dy) => {
      if (this.wants(w)) this.accumulate(w, g.op('Gemm', [f, dy], { transA: 1 }))
      if (this.wants(b)) this.accumulate(b, g.op('ReduceSum', [dy, this.consts.ints([0])], { keepdims: 0 }))
      if (this.wants(f)) this.accumulate(f, g.op('Gemm', [dy, w], { transB: 1 }))
    })
  }

  /** Mean softmax cross-entropy of logits [N, K] against one-hot targets [N, K]; a scalar. */
  softmaxCrossEntropy(logits: string, onehot: string): string {
    const g = this.g
    const [n] = this.shape(logits)
    const lsm = g.op('LogSoftmax', [logits], { axis: 1 })
    const loss = g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [lsm, onehot])], { keepdims: 0 }), this.consts.scalar(-1 / n)])
    return this.result(loss, [], [logits], () => {
      // The loss is the root: its incoming gradient is 1, folded into the rule.
      const dl = g.op('Mul', [g.op('Sub', [g.op('Exp', [lsm]), onehot]), this.consts.scalar(1 / n)])
      this.accumulate(logits, dl)
    })
  }

  /** sum(x * r) for a constant-like tensor r of x's shape; a scalar (gradient tests use it as a loss). */
  weightedSum(x: string, r: string): string {
    const g = this.g
    const loss = g.op('ReduceSum', [g.op('Mul', [x, r])], { keepdims: 0 })
    return this.result(loss, [], [x], () => this.accumulate(x, r))
  }

  /** Emits every backward rule from `loss`; returns the gradient tensor of each requested tensor. */
  backward(loss: string, of: string[]): Map<string, string> {
    if (this.tape.length === 0 || this.tape[this.tape.length - 1].out !== loss) throw new Error('grad tape: loss must be the last recorded op')
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const { out, backward } = this.tape[i]
      if (out === loss) {
        backward('')
        continue
      }
      const d = this.grads.get(out)
      if (d !== undefined) backward(d)
    }
    const res = new Map<string, string>()
    for (const name of of) {
      const d = this.grads.get(name)
      if (d === undefined) throw new Error(`grad tape: no gradient reaches ${name}`)
      res.set(name, d)
    }
    return res
  }
}

/** Deduplicated constant initializers of one graph (shapes, axes, scalars, channel vectors). */
export class GraphConstants {
  private readonly made = new Map<string, string>()

  constructor(private readonly g: OnnxGraph) {}

  private once(key: string, make: (name: string) => string): string {
    let name = this.made.get(key)
    if (name === undefined) {
      name = make(`const.${this.made.size}`)
      this.made.set(key, name)
    }
    return name
  }

  ints(values: number[]): string {
    return this.once(`i:${values.join(',')}`, (name) => this.g.int64Init(name, values))
  }

  shape(dims: number[]): string {
    return this.ints(dims)
  }

  /** A 0-d float scalar (broadcasts against anything). */
  scalar(v: number): string {
    return this.once(`s:${v}`, (name) => this.g.floatInit(name, [], [v]))
  }

  zeros(n: number): string {
    return this.filled(`zeros${n}`, [n], 0)
  }

  ones(n: number): string {
    return this.filled(`ones${n}`, [n], 1)
  }

  filled(key: string, dims: number[], v: number): string {
    return this.once(`f:${key}:${dims.join('x')}:${v}`, (name) =>
      this.g.floatInit(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v)),
    )
  }
}
