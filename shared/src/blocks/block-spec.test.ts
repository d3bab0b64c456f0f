import t from 'tap'
import {
  blockKey,
  blockMacs,
  blockParams,
  checkBlock,
  convOut,
  convOutputShape,
  expandedChannels,
  hasResidual,
  outputShape,
  parseBlockKey,
  poolOut,
  type BlockSpec,
  type LayerBlockSpec,
} from './block-spec.ts'

const INVALID = { code: 'FLEETNAS_ERR_SPEC_INVALID', statusCode: 400 }

const layer = (p: Partial<LayerBlockSpec> & Pick<LayerBlockSpec, 'op'>): LayerBlockSpec => ({
  kernel: 3,
  stride: 1,
  pool: false,
  input: { h: 8, w: 8, c: 16 },
  outChannels: 16,
  ...p,
})

/** Every op and option combination with its expected key. */
const cases: [BlockSpec, string][] = [
  [layer({ op: 'conv', input: { h: 28, w: 28, c: 1 }, outChannels: 64, pool: true }), 'conv-k3-s1-i28x28x1-o14x14x64-bn-relu-maxpool'],
  [layer({ op: 'conv', kernel: 1, outChannels: 8 }), 'conv-k1-s1-i8x8x16-o8x8x8-bn-relu'],
  [layer({ op: 'conv', kernel: 5, stride: 2, input: { h: 7, w: 7, c: 24 }, outChannels: 48 }), 'conv-k5-s2-i7x7x24-o4x4x48-bn-relu'],
  [layer({ op: 'conv', kernel: 7, stride: 2, input: { h: 1, w: 1, c: 8 }, outChannels: 8 }), 'conv-k7-s2-i1x1x8-o1x1x8-bn-relu'],
  [layer({ op: 'dwsep', kernel: 3, outChannels: 32 }), 'dwsep-k3-s1-i8x8x16-o8x8x32-bn-relu'],
  [layer({ op: 'dwsep', kernel: 7, stride: 2, input: { h: 14, w: 10, c: 16 } }), 'dwsep-k7-s2-i14x10x16-o7x5x16-bn-relu'],
  [layer({ op: 'dwsep', kernel: 5, pool: true, input: { h: 3, w: 3, c: 8 } }), 'dwsep-k5-s1-i3x3x8-o1x1x16-bn-relu-maxpool'],
  [layer({ op: 'mbconv', expand: 2 }), 'mbconv-e2-k3-s1-i8x8x16-o8x8x16-bn-relu-res'],
  [layer({ op: 'mbconv', expand: 4, kernel: 5 }), 'mbconv-e4-k5-s1-i8x8x16-o8x8x16-bn-relu-res'],
  [layer({ op: 'mbconv', expand: 2, outChannels: 24 }), 'mbconv-e2-k3-s1-i8x8x16-o8x8x24-bn-relu'],
  [layer({ op: 'mbconv', expand: 4, kernel: 7, stride: 2 }), 'mbconv-e4-k7-s2-i8x8x16-o4x4x16-bn-relu'],
  [layer({ op: 'mbconv', expand: 4, pool: true }), 'mbconv-e4-k3-s1-i8x8x16-o4x4x16-bn-relu-res-maxpool'],
  [layer({ op: 'mbconv', expand: 2, stride: 2, outChannels: 32 }), 'mbconv-e2-k3-s2-i8x8x16-o4x4x32-bn-relu'],
  [{ op: 'head', input: { h: 1, w: 1, c: 64 }, classes: 5 }, 'head-gap-fc-i1x1x64-o5'],
  [{ op: 'head', input: { h: 3, w: 2, c: 8 }, classes: 20 }, 'head-gap-fc-i3x2x8-o20'],
]

t.test('blockKey and parseBlockKey round-trip for every op', async (t) => {
  for (const [spec, key] of cases) {
    t.equal(blockKey(spec), key)
    t.same(parseBlockKey(key), spec, `parse ${key}`)
    t.equal(blockKey(parseBlockKey(key)), key)
    t.equal(checkBlock(spec), spec)
  }
  // Explicit `expand: undefined` (a spread of an optional field) is the same block.
  const spec = { ...layer({ op: 'conv' }), expand: undefined }
  t.equal(checkBlock(spec), spec)
  t.equal(blockKey(spec), 'conv-k3-s1-i8x8x16-o8x8x16-bn-relu')
})

t.test('parseBlockKey rejects malformed keys with FLEETNAS_ERR_SPEC_INVALID', async (t) => {
  const bad = [
    '',
    'conv',
    'head',
    'CONV-k3-s1-i8x8x16-o8x8x16-bn-relu',
    'pool-k3-s1-i8x8x16-o8x8x16-bn-relu',
    'conv-k3-s1-i8x8x16-o8x8x16-bn',
    'conv-k3-s1-i8x8x16-o8x8x16-relu',
    'conv-k3-s1-i8x8x16-o8x8x16-bn-relu-',
    'conv-k3-s1-i8x8x16-o8x8x16-bn-relu\n',
    ' conv-k3-s1-i8x8x16-o8x8x16-bn-relu',
    'conv-k3-s3-i8x8x16-o3x3x16-bn-relu',
    'conv-k3-s1-i8x8-o8x8x16-bn-relu',
    'conv-k3-s1-i8x8x16-o8x8x16-bn-relu-maxpool-res',
    'conv-s1-k3-i8x8x16-o8x8x16-bn-relu',
    'conv-kx-s1-i8x8x16-o8x8x16-bn-relu',
    'conv-k-3-s1-i8x8x16-o8x8x16-bn-relu',
    'head-gap-fc-i1x1x64',
    'head-gap-fc-i1x1x64-o5-extra',
    'head-gap-i1x1x64-o5',
    'head-gap-fc-i1x1-o5',
  ]
  for (const key of bad) t.throws(() => parseBlockKey(key), INVALID, JSON.stringify(key))
})

t.test('parseBlockKey rejects keys that do not match what blockKey would make', async (t) => {
  const inconsistent = [
    // wrong output shape
    'conv-k3-s2-i28x28x1-o28x28x8-bn-relu',
    'conv-k3-s1-i28x28x1-o28x28x8-bn-relu-maxpool',
    'conv-k3-s1-i28x28x1-o27x28x8-bn-relu',
    'conv-k5-s2-i7x7x8-o3x3x8-bn-relu',
    'dwsep-k3-s1-i8x8x16-o8x8x16-bn-relu-maxpool',
    // residual flag where it does not apply, or missing where it does
    'mbconv-e2-k3-s1-i8x8x16-o8x8x16-bn-relu',
    'mbconv-e2-k3-s1-i8x8x16-o8x8x24-bn-relu-res',
    'mbconv-e2-k3-s2-i8x8x16-o4x4x16-bn-relu-res',
    'conv-k3-s1-i8x8x16-o8x8x16-bn-relu-res',
    // expand on the wrong op, or missing
    'conv-e2-k3-s1-i8x8x16-o8x8x16-bn-relu',
    'dwsep-e4-k3-s1-i8x8x16-o8x8x16-bn-relu',
    'mbconv-k3-s1-i8x8x16-o8x8x16-bn-relu-res',
    // even or out-of-range kernels
    'conv-k2-s1-i8x8x16-o8x8x16-bn-relu',
    'conv-k4-s1-i8x8x16-o8x8x16-bn-relu',
    'conv-k0-s1-i8x8x16-o9x9x16-bn-relu',
    'conv-k9-s1-i8x8x16-o8x8x16-bn-relu',
    // zero sizes, out-of-range expand, non-canonical numbers
    'conv-k3-s1-i0x0x1-o0x0x8-bn-relu',
    'conv-k3-s1-i8x8x0-o8x8x8-bn-relu',
    'conv-k3-s1-i8x8x16-o8x8x0-bn-relu',
    'mbconv-e0-k3-s1-i8x8x16-o8x8x16-bn-relu-res',
    'mbconv-e9-k3-s1-i8x8x16-o8x8x16-bn-relu-res',
    'conv-k03-s1-i8x8x16-o8x8x16-bn-relu',
    'conv-k3-s1-i08x8x16-o8x8x16-bn-relu',
    'conv-k3-s1-i8x8x16-o08x8x16-bn-relu',
    // max-pool of a map smaller than 2x2
    'conv-k3-s1-i1x1x8-o0x0x8-bn-relu-maxpool',
    'conv-k3-s2-i2x2x8-o0x0x8-bn-relu-maxpool',
    // heads: one class, zero sizes, non-canonical numbers
    'head-gap-fc-i1x1x64-o1',
    'head-gap-fc-i1x1x64-o0',
    'head-gap-fc-i0x1x64-o5',
    'head-gap-fc-i1x1x0-o5',
    'head-gap-fc-i1x1x64-o05',
    'head-gap-fc-i01x1x64-o5',
  ]
  for (const key of inconsistent) t.throws(() => parseBlockKey(key), INVALID, key)
})

t.test('checkBlock rejects inconsistent specs', async (t) => {
  t.throws(() => checkBlock(layer({ op: 'conv', kernel: 4 })), INVALID)
  t.throws(() => checkBlock(layer({ op: 'mbconv' })), INVALID, 'mbconv without expand')
  t.throws(() => checkBlock(layer({ op: 'dwsep', expand: 2 })), INVALID, 'dwsep with expand')
  t.throws(() => checkBlock(layer({ op: 'conv', pool: true, input: { h: 1, w: 8, c: 8 } })), INVALID, 'pool of 1x8')
  t.throws(() => checkBlock(layer({ op: 'conv', outChannels: 0 })), INVALID)
  t.throws(() => checkBlock(layer({ op: 'conv', input: { h: 8, w: 8, c: 1.5 } })), INVALID)
  t.throws(() => checkBlock({ op: 'head', input: { h: 1, w: 1, c: 8 }, classes: 1 }), INVALID)
  t.throws(() => checkBlock({ ...layer({ op: 'conv' }), extra: 1 } as LayerBlockSpec), INVALID, 'unknown field')
})

t.test('output shapes', async (t) => {
  // Conv4: 2x2 max-pool floors 28 -> 14 -> 7 -> 3 -> 1.
  const sizes = [28]
  let spec = layer({ op: 'conv', input: { h: 28, w: 28, c: 1 }, outChannels: 64, pool: true })
  for (let i = 0; i < 4; i++) {
    const out = outputShape(spec)
    sizes.push(out.h)
    t.equal(out.w, out.h)
    t.equal(out.c, 64)
    spec = { ...spec, input: out }
  }
  t.same(sizes, [28, 14, 7, 3, 1])
  // Stride 2 with same padding is ceil(n / 2) for every odd kernel.
  for (const k of [1, 3, 5, 7])
    for (let n = 1; n <= 30; n++) {
      t.equal(convOut(n, k, 2), Math.ceil(n / 2), `k${k} n${n} stride 2`)
      t.equal(convOut(n, k, 1), n, `k${k} n${n} stride 1`)
    }
  t.same([28, 14, 7, 4, 2, 1].map((n) => convOut(n, 3, 2)), [14, 7, 4, 2, 1, 1])
  t.same([28, 7, 3, 2].map(poolOut), [14, 3, 1, 1])
  t.same(convOutputShape(layer({ op: 'dwsep', stride: 2, input: { h: 7, w: 5, c: 3 }, outChannels: 9, pool: true })), { h: 4, w: 3, c: 9 })
  t.same(outputShape(layer({ op: 'dwsep', stride: 2, input: { h: 7, w: 5, c: 3 }, outChannels: 9, pool: true })), { h: 2, w: 1, c: 9 })
  t.same(outputShape({ op: 'head', input: { h: 3, w: 3, c: 64 }, classes: 5 }), { h: 1, w: 1, c: 5 })
})

t.test('residual and expansion', async (t) => {
  t.ok(hasResidual(layer({ op: 'mbconv', expand: 2 })))
  t.ok(hasResidual(layer({ op: 'mbconv', expand: 4, pool: true })), 'pool comes after the residual add')
  t.notOk(hasResidual(layer({ op: 'mbconv', expand: 2, stride: 2 })))
  t.notOk(hasResidual(layer({ op: 'mbconv', expand: 2, outChannels: 32 })))
  t.notOk(hasResidual(layer({ op: 'conv' })), 'conv never adds its input')
  t.notOk(hasResidual(layer({ op: 'dwsep' })))
  t.equal(expandedChannels(layer({ op: 'mbconv', expand: 4 })), 64)
  t.equal(expandedChannels(layer({ op: 'conv' })), 16)
})

t.test('macs and params match hand-computed values', async (t) => {
  // conv k3, 28x28x1 -> 28x28x64 (then pool): 28*28 positions * 64 outputs * 1*9 taps.
  const conv = parseBlockKey('conv-k3-s1-i28x28x1-o14x14x64-bn-relu-maxpool')
  t.equal(blockMacs(conv), 28 * 28 * 64 * 9) // 451584
  t.equal(blockParams(conv), 64 * 9 + 2 * 64) // 704
  // conv k3 stride 2, 4x4x2 -> 2x2x3: 4 positions * 3 * 2*9.
  const small = parseBlockKey('conv-k3-s2-i4x4x2-o2x2x3-bn-relu')
  t.equal(blockMacs(small), 216)
  t.equal(blockParams(small), 3 * 2 * 9 + 6) // 60
  // dwsep k3 s2, 8x8x16 -> 4x4x32: depthwise 16 positions*16*9 + pointwise 16*16*32.
  const dwsep = parseBlockKey('dwsep-k3-s2-i8x8x16-o4x4x32-bn-relu')
  t.equal(blockMacs(dwsep), 2304 + 8192)
  t.equal(blockParams(dwsep), 16 * 9 + 32 + 32 * 16 + 64) // 752
  // mbconv e2 k3, 8x8x16 -> 8x8x16: expand 64*16*32, depthwise 64*32*9, project 64*32*16.
  const mb = parseBlockKey('mbconv-e2-k3-s1-i8x8x16-o8x8x16-bn-relu-res')
  t.equal(blockMacs(mb), 32768 + 18432 + 32768)
  t.equal(blockParams(mb), 32 * 16 + 64 + 32 * 9 + 64 + 16 * 32 + 32) // 1472
  // mbconv e4 k5 s2, 6x6x2 -> 3x3x4: expand at input size 36*2*8, depthwise 9*8*25, project 9*8*4.
  const mb2 = parseBlockKey('mbconv-e4-k5-s2-i6x6x2-o3x3x4-bn-relu')
  t.equal(blockMacs(mb2), 576 + 1800 + 288)
  t.equal(blockParams(mb2), 8 * 2 + 16 + 8 * 25 + 16 + 4 * 8 + 8) // 288
  // head: average 3*3*64 values, then 64x5 linear plus bias.
  const head = parseBlockKey('head-gap-fc-i3x3x64-o5')
  t.equal(blockMacs(head), 64 * 5 + 9 * 64)
  t.equal(blockParams(head), 64 * 5 + 5)
})
