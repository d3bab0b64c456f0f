/**
 * The training engine: runs an architecture's training graphs (training-graph.ts) on ONNX Runtime.
 * Parameters stay in one flat Float32Array and are fed as zero-copy views; outputs (gradients,
 * logits, loss) are written by ONNX Runtime straight into buffers owned by the compiled program,
 * so a training step allocates no tensors. Sessions are cached per (architecture, graph kind,
 * batch sizes) in a bounded LRU cache and released when evicted.
 *
 * Results are views into those reused buffers: valid until the next call of the same kind on the
 * same architecture and shapes. Copy what you keep. Calls are meant to be awaited one at a time.
 */
import ort from 'onnxruntime-node'
import { architectureBlocks, architectureId, isHead, type Architecture, type BlockSpec } from '@fleetnas/shared'
import { LruCache } from './lru-cache.ts'
import { architectureLayout, type ParamLayout, type SpaceIO } from './param-layout.ts'
import { buildForwardModel, buildInnerLoopModel, buildStepModel, type GraphSpec, type InnerShape } from './training-graph.ts'
import { EngineDisposed, InputSizeMismatch, LabelOutOfRange, ParamsSizeMismatch } from './errors.ts'
import { DEFAULT_SPACE } from '@fleetnas/shared'

export interface EngineOptions {
  /** ONNX Runtime intra-op threads per session (default 1). */
  threads?: number
  /** Sessions kept alive at once (default 16). */
  maxSessions?: number
  /** ONNX Runtime graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all'
}

/** An architecture made concrete: its blocks and parameter layout. No session yet. */
export interface Network {
  arch: Architecture
  id: string
  space: SpaceIO
  blocks: BlockSpec[]
  layout: ParamLayout
  classes: number
  /** Values per input image (c*h*w). */
  imageSize: number
}

export function createNetwork(arch: Architecture, space: SpaceIO = DEFAULT_SPACE): Network {
  const blocks = architectureBlocks(arch, space)
  const head = blocks[blocks.length - 1]
  if (!isHead(head)) throw new Error('architectureBlocks must end with the head')
  return {
    arch,
    id: architectureId(arch),
    space: { input: { ...space.input }, classes: space.classes },
    blocks,
    layout: architectureLayout(arch, space),
    classes: head.classes,
    imageSize: space.input.c * space.input.h * space.input.w,
  }
}

export interface StepResult {
  loss: number
  /** [batch, classes] */
  logits: Float32Array
  /** Same layout as the params. */
  grads: Float32Array
}

export interface ForwardResult {
  logits: Float32Array
  /** Batch mean and (biased) variance of each BN layer, by prefix (e.g. `b0.conv`). */
  stats: Map<string, { mean: Float32Array; variance: Float32Array }>
}

export interface InnerTask {
  supportX: Float32Array
  supportY: Int32Array
  queryX: Float32Array
  /** Needed for mode 'train'. */
  queryY?: Int32Array
}

interface Program {
  session: ort.InferenceSession
  fetches: Record<string, ort.Tensor>
  outputs: Record<string, Float32Array>
  grads?: Float32Array
  onehot: Record<string, Float32Array>
}

type Kind = { kind: 'step'; n: number } | { kind: 'forward'; n: number } | ({ kind: 'inner' } & InnerShape)

export class TrainingEngine {
  readonly threads: number
  private readonly optimizationLevel: NonNullable<EngineOptions['graphOptimizationLevel']>
  private readonly cache: LruCache<string, Promise<Program>>
  private disposed = false

  constructor(opts: EngineOptions = {}) {
    this.threads = Math.max(1, Math.floor(opts.threads ?? 1))
    this.optimizationLevel = opts.graphOptimizationLevel ?? (process.env.FLEETNAS_ORT_OPT as 'all' | undefined) ?? 'all'
    this.cache = new LruCache(opts.maxSessions ?? 16, (p) => {
      void p.then((prog) => prog.session.release()).catch(() => {})
    })
  }

  /** Loss, logits and gradients of the mean softmax cross-entropy on one batch (BN in training mode). */
  async lossAndGrads(net: Network, params: Float32Array, x: Float32Array, labels: Int32Array): Promise<StepResult> {
    const n = this.batchOf(net, x, labels.length, 'x')
    const prog = await this.program(net, { kind: 'step', n })
    const feeds = this.paramFeeds(net, params)
    feeds.x = new ort.Tensor('float32', x, [n, net.space.input.c, net.space.input.h, net.space.input.w])
    feeds.onehot = this.onehot(prog, 'onehot', net, labels)
    await prog.session.run(feeds, prog.fetches)
    return { loss: prog.outputs.loss[0], logits: prog.outputs.logits, grads: prog.grads! }
  }

  /** Logits with batch statistics (transductive BN), plus those statistics for export. */
  async forward(net: Network, params: Float32Array, x: Float32Array): Promise<ForwardResult> {
    const n = this.batchOf(net, x, undefined, 'x')
    const prog = await this.program(net, { kind: 'forward', n })
    const feeds = this.paramFeeds(net, params)
    feeds.x = new ort.Tensor('float32', x, [n, net.space.input.c, net.space.input.h, net.space.input.w])
    await prog.session.run(feeds, prog.fetches)
    const stats = new Map<string, { mean: Float32Array; variance: Float32Array }>()
    for (const bn of net.layout.batchNorms) stats.set(bn, { mean: prog.outputs[`stat.${bn}.mean`], variance: prog.outputs[`stat.${bn}.var`] })
    return { logits: prog.outputs.logits, stats }
  }

  /**
   * A whole MAML inner loop in one session run: `steps` SGD steps of size `lr` on the support set,
   * then the query set at the adapted parameters. Mode 'train' returns the query loss, logits and
   * gradient at the adapted parameters (the first-order MAML meta-gradient); 'eval' only logits.
   */
  async innerLoop(net: Network, params: Float32Array, task: InnerTask, opts: { steps: number; lr: number; mode: 'train' | 'eval' }): Promise<StepResult> {
    const ns = this.batchOf(net, task.supportX, task.supportY.length, 'support x')
    const nq = this.batchOf(net, task.queryX, task.queryY?.length, 'query x')
    if (opts.mode === 'train' && !task.queryY) throw InputSizeMismatch('query labels', nq, 0)
    const prog = await this.program(net, { kind: 'inner', support: ns, query: nq, steps: opts.steps, mode: opts.mode })
    const { c, h, w } = net.space.input
    const feeds = this.paramFeeds(net, params)
    feeds.xs = new ort.Tensor('float32', task.supportX, [ns, c, h, w])
    feeds.ys = this.onehot(prog, 'ys', net, task.supportY)
    feeds.xq = new ort.Tensor('float32', task.queryX, [nq, c, h, w])
    if (opts.mode === 'train') feeds.yq = this.onehot(prog, 'yq', net, task.queryY!)
    feeds.lr = new ort.Tensor('float32', Float32Array.of(opts.lr), [])
    await prog.session.run(feeds, prog.fetches)
    return { loss: opts.mode === 'train' ? prog.outputs.loss[0] : NaN, logits: prog.outputs.logits, grads: prog.grads ?? new Float32Array(0) }
  }

  /** Sessions currently cached (for tests and diagnostics). */
  get cachedSessions(): number {
    return this.cache.size
  }

  async dispose(): Promise<void> {
    if (this.disposed) return
    this.disposed = true
    this.cache.clear()
  }

  private batchOf(net: Network, x: Float32Array, labels: number | undefined, what: string): number {
    const n = x.length / net.imageSize
    if (!Number.isInteger(n) || n < 1) throw InputSizeMismatch(what, Math.max(1, Math.round(n)) * net.imageSize, x.length)
    if (labels !== undefined && labels !== n) throw InputSizeMismatch(`labels for ${what}`, n, labels)
    return n
  }

  private paramFeeds(net: Network, params: Float32Array): Record<string, ort.Tensor> {
    if (params.length !== net.layout.size) throw ParamsSizeMismatch(net.id, net.layout.size, params.length)
    const feeds: Record<string, ort.Tensor> = {}
    for (const e of net.layout.entries) feeds[e.name] = new ort.Tensor('float32', params.subarray(e.offset, e.offset + e.size), e.dims)
    return feeds
  }

  private onehot(prog: Program, name: string, net: Network, labels: Int32Array): ort.Tensor {
    const k = net.classes
    let buf = prog.onehot[name]
    if (!buf || buf.length !== labels.length * k) buf = prog.onehot[name] = new Float32Array(labels.length * k)
    buf.fill(0)
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]
      if (!(y >= 0 && y < k)) throw LabelOutOfRange(y, k)
      buf[i * k + y] = 1
    }
    return new ort.Tensor('float32', buf, [labels.length, k])
  }

  private program(net: Network, kind: Kind): Promise<Program> {
    if (this.disposed) throw EngineDisposed()
    const key = `${net.id}|${JSON.stringify(net.space)}|${JSON.stringify(kind)}`
    let p = this.cache.get(key)
    if (!p) {
      p = this.compile(net, kind)
      p.catch(() => {})
      this.cache.set(key, p)
    }
    return p
  }

  private async compile(net: Network, kind: Kind): Promise<Program> {
    const spec: GraphSpec = { blocks: net.blocks, layout: net.layout }
    const bytes =
      kind.kind === 'step' ? buildStepModel(spec, kind.n) : kind.kind === 'forward' ? buildForwardModel(spec, kind.n) : buildInnerLoopModel(spec, kind)
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: this.optimizationLevel,
      executionMode: 'sequential',
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      enableCpuMemArena: true,
      enableMemPattern: true,
    })
    const outputs: Record<string, Float32Array> = {}
    const fetches: Record<string, ort.Tensor> = {}
    const k = net.classes
    const rows = kind.kind === 'inner' ? kind.query : kind.n
    const add = (name: string, data: Float32Array, dims: number[]) => {
      outputs[name] = data
      fetches[name] = new ort.Tensor('float32', data, dims)
    }
    add('logits', new Float32Array(rows * k), [rows, k])
    let grads: Float32Array | undefined
    const withGrads = kind.kind === 'step' || (kind.kind === 'inner' && kind.mode === 'train')
    if (withGrads) {
      add('loss', new Float32Array(1), [])
      grads = new Float32Array(net.layout.size)
      for (const e of net.layout.entries) add(`grad.${e.name}`, grads.subarray(e.offset, e.offset + e.size), e.dims)
    }
    if (kind.kind === 'forward') {
      for (const bn of net.layout.batchNorms) {
        const c = net.layout.byName.get(`${bn}.gamma`)!.size
        add(`stat.${bn}.mean`, new Float32Array(c), [c])
        add(`stat.${bn}.var`, new Float32Array(c), [c])
      }
    }
    return { session, fetches, outputs, grads, onehot: {} }
  }
}
