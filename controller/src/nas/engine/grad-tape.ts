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
 *   Conv + BN      on the first layer (input needs no gradient) BN's dx is folded into the conv's
 *                  dW (convBatchNorm), so no full-resolution dx tensor is formed; with Relu and
 *                  a 2x2 pool after it, the whole layer runs in window layout (convBnReluPool).
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
  /** im2col of a conv input, by input and conv geometry (built once, shared by forward and dW). */
  private readonly cols = new Map<string, string>()

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
      if (this.wants(x)) this.accumulate(x, this.convInputGrad(dy, w, { cin, cout, h, wd, ho, wo, k, s, p, group }))
      if (this.wants(w)) this.accumulate(w, this.convWeightGrad(x, dy, { n, cin, h, wd, cout, ho, wo, k, s, p, group }))
    })
  }

  /**
   * dX of a convolution. Stride 1: a plain Conv of dY with the kernel flipped and its in/out
   * channels swapped per group (ONNX Runtime's Conv is faster than its ConvTranspose). Stride 2:
   * ConvTranspose with output_padding restoring the input size.
   */
  private convInputGrad(
    dy: string,
    w: string,
    d: { cin: number; cout: number; h: number; wd: number; ho: number; wo: number; k: number; s: number; p: number; group: number },
  ): string {
    const g = this.g
    const c = this.consts
    const { cin, cout, h, wd, ho, wo, k, s, p, group } = d
    if (s !== 1) {
      const outPad = [h - ((ho - 1) * s + k - 2 * p), wd - ((wo - 1) * s + k - 2 * p)]
      return g.op('ConvTranspose', [dy, w], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], group, output_padding: outPad })
    }
    const cig = cin / group
    const cog = cout / group
    // W [G*cog, cig, k, k] -> [G*cig, cog, k, k], spatially flipped.
    let wt = w
    if (cig !== 1 || cog !== 1) {
      wt = g.op('Reshape', [w, c.shape([group, cog, cig, k, k])])
      wt = g.op('Transpose', [wt], { perm: [0, 2, 1, 3, 4] })
      wt = g.op('Reshape', [wt, c.shape([cin, cog, k, k])])
    }
    if (k > 1) wt = g.op('Slice', [wt, c.ints([-1, -1]), c.ints([-k - 1, -k - 1]), c.ints([2, 3]), c.ints([-1, -1])])
    const q = k - 1 - p
    return g.op('Conv', [dy, wt], { kernel_shape: [k, k], pads: [q, q, q, q], group })
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
    if (group === 1 && s === 1 && cin >= 16) return this.convWeightGradShifted(x, dy, d)
    if (group === 1) return this.convWeightGradIm2col(x, dy, d)
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
   * dW of a dense stride-1 kxk convolution with many input channels: one GEMM per kernel offset,
   * dW[:, :, a, b] = dY^T [cout, N*L] x shift_ab(X)^T [N*L, cin], with the reduction over the
   * whole batch inside the GEMM. X is transposed to [cin, N, rows*Wp] (padded) once; a kernel offset
   * (a, b) is then one contiguous Slice at a*Wp + b of length L = Ho*Wp, and dY is padded to width
   * Wp so the wrapped-around columns meet zeros.
   */
  private convWeightGradShifted(
    x: string,
    dy: string,
    d: { n: number; cin: number; h: number; wd: number; cout: number; ho: number; wo: number; k: number; p: number },
  ): string {
    const g = this.g
    const c = this.consts
    const { n, cin, h, wd, cout, ho, wo, k, p } = d
    const wp = wd + 2 * p
    // One extra bottom row of slack so the last offset's window of length L stays in bounds.
    const rows = h + 2 * p + 1
    const len = ho * wp
    const xt = g.op('Reshape', [
      g.op('Pad', [g.op('Transpose', [x], { perm: [1, 0, 2, 3] }), c.ints([0, 0, p, p, 0, 0, p + 1, p])]),
      c.shape([cin, n, rows * wp]),
    ])
    let dyt = g.op('Transpose', [dy], { perm: [1, 0, 2, 3] })
    if (wp !== wo) dyt = g.op('Pad', [dyt, c.ints([0, 0, 0, 0, 0, 0, 0, wp - wo])])
    dyt = g.op('Reshape', [dyt, c.shape([cout, n * len])])
    const parts: string[] = []
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++) {
        const off = a * wp + b
        const shifted = g.op('Reshape', [g.op('Slice', [xt, c.ints([off]), c.ints([off + len]), c.ints([2])]), c.shape([cin, n * len])])
        parts.push(g.op('Unsqueeze', [g.op('Gemm', [dyt, shifted], { transB: 1 }), c.ints([2])]))
      }
    return g.op('Reshape', [g.op('Concat', parts, { axis: 2 }), c.shape([cout, cin, k, k])])
  }

  /**
   * dW of a dense kxk convolution as im2col + one batched MatMul: the k*k shifted (strided) slices
   * of the padded input stacked as [N, cin*k*k, Ho*Wo], times dY^T [N, Ho*Wo, cout], summed over
   * the batch. Uses ONNX Runtime's GEMM at full width instead of a conv with a huge kernel.
   */
  private convWeightGradIm2col(
    x: string,
    dy: string,
    d: { n: number; cin: number; h: number; wd: number; cout: number; ho: number; wo: number; k: number; s: number; p: number },
  ): string {
    const g = this.g
    const c = this.consts
    const { n, cin, cout, ho, wo, k, s, p } = d
    const col = this.im2col(x, d)
    const dyT = g.op('Transpose', [g.op('Reshape', [dy, c.shape([n, cout, ho * wo])])], { perm: [0, 2, 1] })
    const sum = g.op('ReduceSum', [g.op('MatMul', [col, dyT]), c.ints([0])], { keepdims: 0 })
    return g.op('Reshape', [g.op('Transpose', [sum], { perm: [1, 0] }), c.shape([cout, cin, k, k])])
  }

  /** The k*k shifted (strided) slices of the padded input stacked as [N, cin*k*k, Ho*Wo]. */
  private im2col(x: string, d: { n: number; cin: number; ho: number; wo: number; k: number; s: number; p: number }): string {
    const { n, cin, ho, wo, k, s, p } = d
    const key = `${x}|${k}|${s}|${p}`
    const made = this.cols.get(key)
    if (made !== undefined) return made
    const g = this.g
    const c = this.consts
    const xp = p > 0 ? g.op('Pad', [x, c.ints([0, 0, p, p, 0, 0, p, p])]) : x
    const parts: string[] = []
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++) {
        const sl = g.op('Slice', [xp, c.ints([a, b]), c.ints([a + (ho - 1) * s + 1, b + (wo - 1) * s + 1]), c.ints([2, 3]), c.ints([s, s])])
        parts.push(g.op('Unsqueeze', [sl, c.ints([2])]))
      }
    const col = g.op('Reshape', [g.op('Concat', parts, { axis: 2 }), c.shape([n, cin * k * k, ho * wo])])
    this.cols.set(key, col)
    return col
  }

  /**
   * BatchNormalization with batch statistics. Also returns the batch mean and variance ([C]) so an
   * exported inference model can be given the statistics of a real batch.
   */
  batchNorm(x: string, gamma: string, beta: string): { y: string; mean: string; variance: string } {
    const g = this.g
    const c = this.consts
    const f = this.bnForward(x, gamma, beta)
    const { dims, xc, rstd, a, m, ch } = f
    const out = this.result(f.y, dims, [x, gamma, beta], (dy) => {
      const { dbeta, dgamma } = this.bnParamGrads(dy, xc, rstd, gamma, beta)
      if (this.wants(x)) {
        // dx = a*dy + b*xc + cc with b = -a*rstd*dgamma/M, cc = -a*dbeta/M.
        const { b, cc } = this.bnInputGradCoefficients(a, rstd, dgamma, dbeta, m)
        const dx = g.op('Add', [this.affine(dy, a, cc, dims), this.affine(xc, b, c.zeros(ch), dims)])
        this.accumulate(x, dx)
      }
    })
    return { y: out, mean: f.mean, variance: f.variance }
  }

  /**
   * BN's input gradient is linear: dx = a*dy + b*xc + cc per channel, with
   * b = -a*rstd*dgamma/M and cc = -a*dbeta/M. batchNorm forms dx from it; the fused first-layer
   * rules fold the same coefficients into the conv weight gradient.
   */
  private bnInputGradCoefficients(a: string, rstd: string, dgamma: string, dbeta: string, m: number): { b: string; cc: string } {
    const g = this.g
    const aNeg = g.op('Mul', [a, this.consts.scalar(-1 / m)])
    return { b: g.op('Mul', [g.op('Mul', [aNeg, rstd]), dgamma]), cc: g.op('Mul', [aNeg, dbeta]) }
  }

  /**
   * Conv then BatchNormalization (batch statistics), as `batchNorm(conv(x, w))`. When `x` needs no
   * gradient (the network's first layer: x is the images) and the conv is not grouped, the backward
   * pass never forms BN's input gradient, a full-size tensor at full resolution, three passes over
   * it: it is linear in (dy, xc, 1), and so is the weight gradient G(.) of the conv, hence
   *   dW = a*G(dy) + b*G(xc) + cc*G(1)   (per output channel; a, b, cc as in batchNorm)
   * with three small GEMMs on the (shared) im2col of the input instead.
   */
  convBatchNorm(
    x: string,
    w: string,
    gamma: string,
    beta: string,
    opts: { kernel: number; stride: number; pad: number; group: number },
  ): { y: string; mean: string; variance: string } {
    if (this.wants(x) || opts.group !== 1) return this.batchNorm(this.conv(x, w, opts), gamma, beta)
    const g = this.g
    const c = this.consts
    const [n, cin, h, wd] = this.shape(x)
    const [cout] = this.shape(w)
    const { kernel: k, stride: s, pad: p } = opts
    const ho = Math.floor((h + 2 * p - k) / s) + 1
    const wo = Math.floor((wd + 2 * p - k) / s) + 1
    const z = g.op('Conv', [x, w], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], group: 1 })
    this.shapes.set(z, [n, cout, ho, wo])
    const f = this.bnForward(z, gamma, beta)
    const { xc, rstd, a, m } = f
    const out = this.result(f.y, f.dims, [x, w, gamma, beta], (dy) => {
      const { dbeta, dgamma } = this.bnParamGrads(dy, xc, rstd, gamma, beta)
      if (!this.wants(w)) return
      const { b, cc } = this.bnInputGradCoefficients(a, rstd, dgamma, dbeta, m)
      const d = { n, cin, h, wd, cout, ho, wo, k, s, p, group: 1 }
      const perChannel = (v: string) => g.op('Reshape', [v, c.shape([cout, 1, 1, 1])])
      const gdy = this.convWeightGrad(x, dy, d)
      const gxc = this.convWeightGrad(x, xc, d)
      const g1 = this.convWeightGrad(x, c.filled('ones', [n, 1, ho, wo], 1), { ...d, cout: 1 })
      const dw = g.op('Add', [
        g.op('Add', [g.op('Mul', [gdy, perChannel(a)]), g.op('Mul', [gxc, perChannel(b)])]),
        g.op('Mul', [g1, perChannel(cc)]),
      ])
      this.accumulate(w, dw)
    })
    return { y: out, mean: f.mean, variance: f.variance }
  }

  /**
   * Conv - BN - Relu - 2x2 max-pool of the network's first layer (input needs no gradient), in
   * "window layout": the conv is one GEMM on an im2col whose pixels are ordered window position
   * first, [N, cin*k*k, 4, Ho*Wo], so its output [N, C, 4, Ho*Wo] holds each pool window's four
   * values on axis 2. BN's statistics do not care about pixel order, the pool is a ReduceMax over
   * axis 2, and its backward a broadcast compare there; BN's backward folds into dW as in
   * convBatchNorm. No SpaceToDepth, DepthToSpace or layout reorders at full resolution. Falls back
   * to the separate ops when the layer is not of that form (stride, groups, odd size, input grad).
   */
  convBnReluPool(
    x: string,
    w: string,
    gamma: string,
    beta: string,
    opts: { kernel: number; stride: number; pad: number; group: number },
  ): { y: string; mean: string; variance: string } {
    const [n, cin, h, wd] = this.shape(x)
    const [cout] = this.shape(w)
    const { kernel: k, stride: s, pad: p, group } = opts
    const ho = Math.floor((h + 2 * p - k) / s) + 1
    const wo = Math.floor((wd + 2 * p - k) / s) + 1
    if (this.wants(x) || group !== 1 || s !== 1 || ho % 2 !== 0 || wo % 2 !== 0) {
      const bn = this.convBatchNorm(x, w, gamma, beta, opts)
      return { ...bn, y: this.reluMaxPool2(bn.y) }
    }
    const g = this.g
    const c = this.consts
    const kk = cin * k * k
    const hp = ho / 2
    const wp = wo / 2
    const px = hp * wp
    // im2col, window position (r, q) major: col[n, (ci, a, b), (r, q), (i, j)] = xpad[n, ci, 2i+r+a, 2j+q+b].
    const xp = p > 0 ? g.op('Pad', [x, c.ints([0, 0, p, p, 0, 0, p, p])]) : x
    const parts: string[] = []
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++)
        for (const [r, q] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const sl = g.op('Slice', [xp, c.ints([a + r, b + q]), c.ints([a + r + 2 * (hp - 1) + 1, b + q + 2 * (wp - 1) + 1]), c.ints([2, 3]), c.ints([2, 2])])
          parts.push(g.op('Unsqueeze', [sl, c.ints([2])]))
        }
    const col = g.op('Reshape', [g.op('Concat', parts, { axis: 2 }), c.shape([n, kk, 4 * px])])
    const z = g.op('Reshape', [g.op('MatMul', [g.op('Reshape', [w, c.shape([cout, kk])]), col]), c.shape([n, cout, 4, px])])
    const dims5 = [n, cout, 4, px]
    this.shapes.set(z, dims5)
    const f = this.bnForward(z, gamma, beta)
    const { xc, rstd, a, m } = f
    const pooled = g.op('ReduceMax', [f.y], { axes: [2], keepdims: 1 })
    const y = g.op('Reshape', [g.op('Relu', [pooled]), c.shape([n, cout, hp, wp])])
    const out = this.result(y, [n, cout, hp, wp], [x, w, gamma, beta], (dy) => {
      const zero = c.scalar(0)
      const dyPos = g.op('Where', [g.op('Greater', [pooled, zero]), g.op('Reshape', [dy, c.shape([n, cout, 1, px])]), zero])
      // Tied window maxima share the gradient equally (see poolBackward).
      const maskF = g.op('Cast', [g.op('Equal', [f.y, pooled])], { to: 1 })
      const count = g.op('ReduceSum', [maskF, c.ints([2])], { keepdims: 1 })
      const dz = g.op('Mul', [maskF, g.op('Div', [dyPos, count])])
      this.shapes.set(dz, dims5)
      const { dbeta, dgamma } = this.bnParamGrads(dz, xc, rstd, gamma, beta)
      if (!this.wants(w)) return
      const { b: bb, cc } = this.bnInputGradCoefficients(a, rstd, dgamma, dbeta, m)
      // G(t)[co, j] = sum over images and pixels of t[n, co, .] col[n, j, .].
      const gram = (t: string) =>
        g.op('ReduceSum', [g.op('MatMul', [g.op('Reshape', [t, c.shape([n, cout, 4 * px])]), g.op('Transpose', [col], { perm: [0, 2, 1] })]), c.ints([0])], { keepdims: 0 })
      const g1 = g.op('Reshape', [g.op('ReduceSum', [g.op('ReduceSum', [col, c.ints([2])], { keepdims: 0 }), c.ints([0])], { keepdims: 0 }), c.shape([1, kk])])
      const perChannel = (v: string) => g.op('Reshape', [v, c.shape([cout, 1])])
      const dw = g.op('Add', [
        g.op('Add', [g.op('Mul', [gram(dz), perChannel(a)]), g.op('Mul', [gram(xc), perChannel(bb)])]),
        g.op('Mul', [g1, perChannel(cc)]),
      ])
      this.accumulate(w, g.op('Reshape', [dw, c.shape([cout, cin, k, k])]))
    })
    return { y: out, mean: f.mean, variance: f.variance }
  }

  /** BN forward with batch statistics; nothing recorded on the tape. */
  private bnForward(x: string, gamma: string, beta: string) {
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
    const a = g.op('Mul', [gamma, rstd])
    // y = xc * (gamma * rstd) + beta in one pass; xhat = xc * rstd is never materialised.
    const y = this.affine(xc, a, beta, dims)
    const mean = g.op('Reshape', [mean4, c.shape([ch])])
    return { y, mean, variance, dims, xc, rstd, a, m, ch }
  }

  /** dbeta = sum dy, dgamma = rstd * sum(dy * xc), accumulated into beta and gamma. */
  private bnParamGrads(dy: string, xc: string, rstd: string, gamma: string, beta: string): { dbeta: string; dgamma: string } {
    const g = this.g
    const c = this.consts
    const dbeta = g.op('ReduceSum', [dy, c.ints([0, 2, 3])], { keepdims: 0 })
    const sdx = g.op('ReduceSum', [g.op('Mul', [dy, xc]), c.ints([0, 2, 3])], { keepdims: 0 })
    const dgamma = g.op('Mul', [sdx, rstd])
    this.accumulate(beta, dbeta)
    this.accumulate(gamma, dgamma)
    return { dbeta, dgamma }
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
   * Relu then 2x2 max-pool, computed as pool then Relu (they commute; Relu runs on the 4x smaller
   * tensor) and differentiated together: Relu's mask is taken on the pooled tensor.
   */
  reluMaxPool2(x: string): string {
    const g = this.g
    const [n, ch, h, w] = this.shape(x)
    const ho = Math.floor(h / 2)
    const wo = Math.floor(w / 2)
    const pooled = g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })
    const y = g.op('Relu', [pooled])
    return this.result(y, [n, ch, ho, wo], [x], (dy) => {
      const zero = this.consts.scalar(0)
      const dyPos = g.op('Where', [g.op('Greater', [pooled, zero]), dy, zero])
      this.accumulate(x, this.poolBackward(x, pooled, dyPos))
    })
  }

  /** The four positions of each 2x2 window of x as [N, 4, C, Ho, Wo] (SpaceToDepth; odd edges cropped). */
  private windows(x: string): string {
    const made = this.cols.get(`${x}|windows`)
    if (made !== undefined) return made
    const g = this.g
    const c = this.consts
    const [n, ch, h, w] = this.shape(x)
    const ho = Math.floor(h / 2)
    const wo = Math.floor(w / 2)
    const cropped = h !== 2 * ho || w !== 2 * wo ? g.op('Slice', [x, c.ints([0, 0]), c.ints([2 * ho, 2 * wo]), c.ints([2, 3])]) : x
    const s5 = g.op('Reshape', [g.op('SpaceToDepth', [cropped], { blocksize: 2 }), c.shape([n, 4, ch, ho, wo])])
    this.cols.set(`${x}|windows`, s5)
    return s5
  }

  /**
   * Max-pool backward without MaxPool indices (slow in ONNX Runtime): SpaceToDepth lays the four
   * window positions out as [N, 4, C, Ho, Wo]; the positions equal to the window max share its
   * gradient equally (ties are common: windows over all-zero Relu regions give equal values, and
   * equal values there are the same function of the parameters, so any split summing to one gives
   * exact parameter gradients); DepthToSpace puts it back.
   */
  private poolBackward(x: string, y: string, dy: string): string {
    const g = this.g
    const c = this.consts
    const [n, ch, h, w] = this.shape(x)
    const ho = Math.floor(h / 2)
    const wo = Math.floor(w / 2)
    const odd = h !== 2 * ho || w !== 2 * wo
    const s5 = this.windows(x)
    const y5 = g.op('Reshape', [y, c.shape([n, 1, ch, ho, wo])])
    const mask = g.op('Equal', [s5, y5])
    const maskF = g.op('Cast', [mask], { to: 1 })
    const count = g.op('ReduceSum', [maskF, c.ints([1])], { keepdims: 1 })
    const share = g.op('Div', [g.op('Reshape', [dy, c.shape([n, 1, ch, ho, wo])]), count])
    const d5 = g.op('Mul', [maskF, share])
    let dx = g.op('DepthToSpace', [g.op('Reshape', [d5, c.shape([n, 4 * ch, ho, wo])])], { blocksize: 2, mode: 'DCR' })
    if (odd) dx = g.op('Pad', [dx, c.ints([0, 0, 0, 0, 0, 0, h - 2 * ho, w - 2 * wo])])
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
