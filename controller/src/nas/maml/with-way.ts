/** Re-sizing a meta-trained checkpoint's head to another way (meta-eval, adapt, architecture requests). */
import { createNetwork } from '../engine/index.ts'
import type { Checkpoint } from './checkpoint.ts'

/**
 * The checkpoint with its head re-sized to `way` classes. MAML tasks draw labels in random order,
 * so the trained class columns are interchangeable: new column j starts as trained column
 * j mod K (fewer classes keep the first ones, more classes repeat them) and the inner loop makes
 * repeated columns differ, since their labels differ. (Starting every column at the mean of the
 * trained ones, the "zero trick" of Unicorn-MAML, needs a model meta-trained that way: on a
 * Conv4 meta-trained with its own head it cost 27 points at 5-way and 29 at 10-way.)
 *
 * A zero-head checkpoint (config.zeroHead) has an all-zero head, so re-sizing changes nothing but
 * the inner learning rate: the support loss is a mean over way x shot examples, so a step moves
 * each class column by about lr x its class's mean feature / way. The default inner rate is
 * scaled by way / trainWay to keep that step (and so the logits' scale) as in training. On
 * Omniglot, a Conv4 trained 20-way at lr 0.4 scored 94.9% 5-way 1-shot at lr 1.6 and 96.8% at
 * the matched 0.1.
 */
export function withWay(ck: Checkpoint, way: number): Checkpoint {
  if (ck.space.classes === way) return ck
  const from = createNetwork(ck.arch, ck.space)
  const space = { input: { ...ck.space.input }, classes: way }
  const to = createNetwork(ck.arch, space)
  const params = new Float32Array(to.layout.size)
  for (const e of to.layout.entries) {
    const src = from.layout.byName.get(e.name)!
    const a = ck.params.subarray(src.offset, src.offset + src.size)
    const b = params.subarray(e.offset, e.offset + e.size)
    if (e.name === 'head.fc.weight') {
      // Gemm B operand: [cin, classes] row-major.
      const [cin, k] = src.dims
      for (let i = 0; i < cin; i++) for (let j = 0; j < way; j++) b[i * way + j] = a[i * k + (j % k)]
    } else if (e.name === 'head.fc.bias') {
      for (let j = 0; j < way; j++) b[j] = a[j % a.length]
    } else {
      b.set(a)
    }
  }
  const innerLr = ck.config.zeroHead ? (ck.config.innerLr * way) / ck.space.classes : ck.config.innerLr
  // Adam starts over: its two moments are separate buffers (one shared buffer would tie them).
  const adam = { m: new Float32Array(to.layout.size), v: new Float32Array(to.layout.size), t: 0 }
  return { ...ck, space, config: { ...ck.config, way, innerLr }, params, adam }
}
