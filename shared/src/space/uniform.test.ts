import t from 'tap'
import { architectureId, checkArchitecture, conv4Family, DEFAULT_SPACE } from './search-space.ts'
import { uniformArchitectures } from './uniform.ts'

t.test('every uniform network of the space: members, distinct, one op, kernel, width and expansion each, Conv4 among them', async (t) => {
  const s = DEFAULT_SPACE
  const all = uniformArchitectures(s)
  const perOp = (s.maxBlocks - s.minBlocks + 1) * s.multipliers.length * s.widths.length * s.kernels.length
  t.equal(all.length, perOp * (s.ops.length - 1 + s.expands.length), 'mbconv once per expansion')
  t.equal(new Set(all.map(architectureId)).size, all.length, 'distinct')
  for (const a of all) {
    checkArchitecture(a, s)
    const [first] = a.blocks
    if (!a.blocks.every((b) => b.op === first.op && b.kernel === first.kernel && b.width === first.width && b.expand === first.expand)) t.fail(`${architectureId(a)} is not uniform`)
  }
  const ids = new Set(all.map(architectureId))
  t.ok(conv4Family([16, 24, 32, 48, 64]).every((c) => ids.has(architectureId(c))), 'the Conv4 family is uniform')
  t.same(uniformArchitectures(s, ['dwsep']).length, perOp)
})
