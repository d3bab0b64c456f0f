import t from 'tap'
import { createRng } from '../random.ts'
import { isHead } from '../blocks/block-spec.ts'
import { calibrationArchitectures, calibrationStratum, sampleCompactArchitecture } from './calibration.ts'
import { architectureBlocks, architectureId, canDownsample, checkArchitecture, DEFAULT_SPACE, sampleArchitectures, type Architecture } from './search-space.ts'

/** Layer blocks whose input map is 3x3 or smaller: where the small networks a search answers with spend their last blocks. */
const lateBlocks = (a: Architecture) => architectureBlocks(a).filter((b) => !isHead(b) && b.input.h <= 3).length

/** Every block downsamples while its input allows it. */
function compact(a: Architecture): boolean {
  const specs = architectureBlocks(a)
  return a.blocks.every((b, i) => (b.down !== 'none') === canDownsample(specs[i].input))
}

function uniform(a: Architecture): boolean {
  const [f] = a.blocks
  return a.blocks.every((b) => b.op === f.op && b.kernel === f.kernel && b.width === f.width && b.expand === f.expand && (b.down === 'maxpool' || b.down === 'none'))
}

t.test('the calibration set: members of the space, distinct, deterministic by seed', async (t) => {
  const set = calibrationArchitectures(150, 1)
  t.equal(set.length, 150)
  t.equal(new Set(set.map(architectureId)).size, 150, 'distinct')
  for (const a of set) checkArchitecture(a)
  t.same(calibrationArchitectures(40, 1).map(architectureId), set.slice(0, 40).map(architectureId), 'a smaller set is a prefix of a larger one')
  t.notSame(calibrationArchitectures(40, 2).map(architectureId), set.slice(0, 40).map(architectureId), 'another seed, another set')
})

t.test('strata interleave: random draws as before, compact and uniform networks in every prefix', async (t) => {
  const set = calibrationArchitectures(40, 1)
  const random = set.filter((_, i) => calibrationStratum(i) === 'random')
  t.same(random.map(architectureId), sampleArchitectures(createRng('calibration/1'), random.length).map(architectureId), 'the random half is the old set, in order')
  set.forEach((a, i) => {
    if (calibrationStratum(i) === 'compact') t.ok(compact(a), `${architectureId(a)} downsamples at every block that can`)
    if (calibrationStratum(i) === 'uniform') t.ok(uniform(a), `${architectureId(a)} is uniform`)
  })
  t.equal(set.filter((_, i) => calibrationStratum(i) === 'compact').length, 10)
  t.equal(set.filter((_, i) => calibrationStratum(i) === 'uniform').length, 10)
})

t.test('the set covers networks whose last blocks run on 3x3 and 1x1 maps, which random draws barely reach', async (t) => {
  const set = calibrationArchitectures(150, 1)
  const random = sampleArchitectures(createRng('calibration/1'), 150)
  const share = (archs: Architecture[], n: number) => archs.filter((a) => lateBlocks(a) >= n).length / archs.length
  // Seed 1: 9% of random draws have a block on <=3x3 maps and 1% two; the stratified set 27% and 10%.
  t.ok(share(set, 1) >= 2 * share(random, 1), `one late block or more: ${share(set, 1)} against random ${share(random, 1)}`)
  t.ok(share(set, 2) >= 3 * share(random, 2), `two: ${share(set, 2)} against random ${share(random, 2)}`)
})

t.test('compact sampler: every block downsamples while the map allows, in any space', async (t) => {
  const rng = createRng('compact-test')
  for (let i = 0; i < 200; i++) {
    const a = sampleCompactArchitecture(rng)
    checkArchitecture(a)
    t.ok(compact(a), architectureId(a))
  }
  const noStride = { ...DEFAULT_SPACE, downsamples: ['maxpool', 'none'] as ('maxpool' | 'none')[] }
  const a = sampleCompactArchitecture(createRng('no-stride'), noStride)
  t.ok(a.blocks.every((b) => b.down !== 'stride'), 'only the space\'s downsamples')
  const none = { ...DEFAULT_SPACE, downsamples: ['none'] as 'none'[] }
  t.ok(sampleCompactArchitecture(createRng('none'), none).blocks.every((b) => b.down === 'none'), 'a space without downsampling gets none')
})
