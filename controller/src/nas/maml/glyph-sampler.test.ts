/** metaTrain on a real dataset sampler, with the input space taken from the sampler's image shape. */
import t from 'tap'
import { architectureId, parseArchitectureId } from '@fleetnas/shared'
import { createGlyphDataset } from '../data/glyphs.ts'
import { createTaskSampler } from '../data/tasks.ts'
import { metaTrain } from './meta-train.ts'

t.test('metaTrain infers the input space from a glyph sampler', async (t) => {
  const dataset = createGlyphDataset({ seed: 3, classes: { train: 20, val: 10, test: 10 }, samplesPerClass: 6 })
  const sampler = createTaskSampler(dataset, { way: 3, shot: 1, query: 2, split: 'train' })
  const arch = parseArchitectureId('g0.5_conv-k3-w16-mp_conv-k3-w16-mp')
  const ck = await metaTrain({ arch, sampler, iterations: 2, way: 3, shot: 1, query: 2, metaBatch: 2, innerSteps: 1 })
  t.equal(ck.architectureId, architectureId(arch))
  t.same(ck.space.input, { c: 1, h: 28, w: 28 }, 'the sampler shape became the network input')
  t.equal(ck.space.classes, 3)
  t.equal(ck.iteration, 2)
})
