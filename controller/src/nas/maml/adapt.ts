/**
 * Adapting a meta-trained initialisation to the user's own task: `adapt` takes SGD steps on the
 * support set and returns new parameters (the input is untouched); `predict` classifies a batch
 * (BN uses that batch's statistics, as in training); `adaptAndPredict` does both from a checkpoint.
 */
import { evalStepsOf } from './config.ts'
import { TrainingEngine, createNetwork, type Network } from '../engine/engine.ts'
import { sgdStep } from './adam.ts'
import type { Checkpoint } from './checkpoint.ts'

export interface Prediction {
  /** Arg-max class per image. */
  labels: Int32Array
  /** Softmax probabilities, [images, classes] row-major. */
  probabilities: Float32Array
}

export async function adapt(
  engine: TrainingEngine,
  net: Network,
  params: Float32Array,
  support: { x: Float32Array; y: Int32Array },
  opts: { steps: number; lr: number },
): Promise<Float32Array> {
  const adapted = Float32Array.from(params)
  for (let s = 0; s < opts.steps; s++) {
    const r = await engine.lossAndGrads(net, adapted, support.x, support.y)
    sgdStep(adapted, r.grads, opts.lr)
  }
  return adapted
}

export function softmaxRows(logits: Float32Array, classes: number): Prediction {
  const n = logits.length / classes
  const probabilities = new Float32Array(logits.length)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    let max = -Infinity
    for (let k = 0; k < classes; k++) if (logits[i * classes + k] > max) {
      max = logits[i * classes + k]
      labels[i] = k
    }
    let sum = 0
    for (let k = 0; k < classes; k++) sum += probabilities[i * classes + k] = Math.exp(logits[i * classes + k] - max)
    for (let k = 0; k < classes; k++) probabilities[i * classes + k] /= sum
  }
  return { labels, probabilities }
}

export async function predict(engine: TrainingEngine, net: Network, params: Float32Array, x: Float32Array): Promise<Prediction> {
  const { logits } = await engine.forward(net, params, x)
  return softmaxRows(logits, net.classes)
}

export interface AdaptOptions {
  /** Default: the steps the checkpoint was validated with (evalSteps, else innerSteps). */
  steps?: number
  /** Default: the checkpoint's innerLr. */
  lr?: number
  threads?: number
  engine?: TrainingEngine
}

/** Adapts the checkpoint's parameters on `support` and classifies `queryX` in one session run. */
export async function adaptAndPredict(
  ck: Checkpoint,
  support: { x: Float32Array; y: Int32Array },
  queryX: Float32Array,
  opts: AdaptOptions = {},
): Promise<Prediction> {
  const net = createNetwork(ck.arch, ck.space)
  const engine = opts.engine ?? new TrainingEngine({ threads: opts.threads })
  try {
    const r = await engine.innerLoop(
      net,
      ck.params,
      { supportX: support.x, supportY: support.y, queryX },
      { steps: opts.steps ?? evalStepsOf(ck.config), lr: opts.lr ?? ck.config.innerLr, mode: 'eval' },
    )
    return softmaxRows(r.logits, net.classes)
  } finally {
    if (!opts.engine) await engine.dispose()
  }
}
