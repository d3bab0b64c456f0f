import t from 'tap'
import { createRng } from '../random.ts'
import { blockKey, isHead, parseBlockKey, type LayerBlockSpec } from '../blocks/block-spec.ts'
import { DEFAULT_MEASURE_SETTINGS } from '../protocol/messages.ts'
import { encodeMessage } from '../protocol/validate.ts'
import {
  CONV4,
  DEFAULT_SPACE,
  architectureBlocks,
  architectureId,
  architectureMacs,
  architectureParams,
  canDownsample,
  checkArchitecture,
  parseArchitectureId,
  sampleArchitecture,
  scaledWidth,
  spaceBlockKeys,
  spaceBlocks,
  type Architecture,
} from './search-space.ts'

const INVALID = { code: 'FLEETNAS_ERR_SPEC_INVALID', statusCode: 400 }
const CONV4_ID = 'g1_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp'

function sampled(n: number, seed: number): Architecture[] {
  const rng = createRng(seed)
  return Array.from({ length: n }, () => sampleArchitecture(rng))
}

t.test('CONV4 id, blocks, macs and params', async (t) => {
  t.equal(architectureId(CONV4), CONV4_ID)
  t.same(parseArchitectureId(CONV4_ID), CONV4)
  t.equal(checkArchitecture(CONV4), CONV4)
  t.same(architectureBlocks(CONV4).map(blockKey), [
    'conv-k3-s1-i28x28x1-o14x14x64-bn-relu-maxpool',
    'conv-k3-s1-i14x14x64-o7x7x64-bn-relu-maxpool',
    'conv-k3-s1-i7x7x64-o3x3x64-bn-relu-maxpool',
    'conv-k3-s1-i3x3x64-o1x1x64-bn-relu-maxpool',
    'head-gap-fc-i1x1x64-o5',
  ])
  const macs = 28 * 28 * 64 * 9 + (14 * 14 + 7 * 7 + 3 * 3) * 64 * 64 * 9 + (64 * 5 + 64)
  t.equal(architectureMacs(CONV4), macs)
  t.equal(architectureParams(CONV4), 64 * 9 + 128 + 3 * (64 * 64 * 9 + 128) + 64 * 5 + 5)
  // Another input and class count thread through the walk.
  const blocks = architectureBlocks(CONV4, { input: { h: 84, w: 84, c: 3 }, classes: 20 })
  t.same(blocks.map(blockKey).at(-1), 'head-gap-fc-i5x5x64-o20')
})

t.test('scaledWidth rounds to multiples of 8, at least 8', async (t) => {
  t.equal(scaledWidth(16, 0.5), 8)
  t.equal(scaledWidth(16, 0.75), 16)
  t.equal(scaledWidth(24, 0.5), 16)
  t.equal(scaledWidth(24, 0.75), 16)
  t.equal(scaledWidth(48, 0.75), 40)
  t.equal(scaledWidth(64, 2), 128)
  t.equal(scaledWidth(8, 0.5), 8)
  for (const w of DEFAULT_SPACE.widths)
    for (const g of DEFAULT_SPACE.multipliers) {
      const s = scaledWidth(w, g)
      t.ok(s % 8 === 0 && s >= 8 && Math.abs(s - w * g) <= 4, `${w}x${g} -> ${s}`)
    }
})

t.test('sampled architectures: members, id round trip, deterministic by seed', async (t) => {
  const archs = sampled(1000, 1)
  t.same(sampled(20, 7), sampled(20, 7))
  t.notSame(sampled(20, 7), sampled(20, 8))
  const depths = new Set<number>()
  const gs = new Set<number>()
  const ops = new Set<string>()
  const downs = new Set<string>()
  const ids = new Set<string>()
  let failures = 0
  for (const arch of archs) {
    const id = architectureId(arch)
    ids.add(id)
    depths.add(arch.blocks.length)
    gs.add(arch.g)
    for (const b of arch.blocks) {
      ops.add(b.op === 'mbconv' ? `mbconv-e${b.expand}` : b.op)
      downs.add(b.down)
    }
    try {
      checkArchitecture(arch)
      const parsed = parseArchitectureId(id)
      if (architectureId(parsed) !== id || JSON.stringify(architectureBlocks(parsed)) !== JSON.stringify(architectureBlocks(arch))) failures++
      t.same(parsed, arch) || failures++
      if (!/^[A-Za-z0-9._~-]+$/.test(id)) failures++ // URL-safe
    } catch (e) {
      failures++
      t.fail(`${id}: ${(e as Error).message}`)
    }
  }
  t.equal(failures, 0)
  t.same([...depths].sort(), [2, 3, 4, 5])
  t.same([...gs].sort(), [...DEFAULT_SPACE.multipliers].sort())
  t.same([...ops].sort(), ['conv', 'dwsep', 'mbconv-e2', 'mbconv-e4'])
  t.same([...downs].sort(), ['maxpool', 'none', 'stride'])
  t.ok(ids.size > 990, `${ids.size} distinct of 1000`)
})

t.test('downsampling is never applied below 2x2', async (t) => {
  let downsampled = 0
  let bad = 0
  for (const arch of sampled(2000, 2)) {
    for (const b of architectureBlocks(arch)) {
      if (isHead(b)) continue
      const l = b as LayerBlockSpec
      if (l.stride === 2 || l.pool) {
        downsampled++
        if (!canDownsample(l.input)) bad++
      }
    }
  }
  t.equal(bad, 0)
  t.ok(downsampled > 1000)
  t.notOk(canDownsample({ h: 1, w: 1, c: 8 }))
  t.notOk(canDownsample({ h: 1, w: 4, c: 8 }))
  t.ok(canDownsample({ h: 2, w: 2, c: 8 }))
  // CONV4 ends at 1x1; one more downsampling block is refused, a plain one is fine.
  const tail = (down: 'maxpool' | 'stride' | 'none'): Architecture => ({ g: 1, blocks: [...CONV4.blocks, { op: 'conv', kernel: 3, width: 64, down }] })
  t.throws(() => architectureBlocks(tail('maxpool')), { ...INVALID, message: /block 5 downsamples a 1x1 feature map/ })
  t.throws(() => architectureBlocks(tail('stride')), INVALID)
  t.equal(architectureBlocks(tail('none')).length, 6)
  t.throws(() => parseArchitectureId(architectureId(tail('stride'))), { ...INVALID, message: /block 5 downsamples a 1x1/ })
  // Stride 2 reaches 1x1 from 2x2 and may not go on.
  const strides: Architecture = { g: 1, blocks: Array.from({ length: 5 }, () => ({ op: 'dwsep' as const, kernel: 3, width: 16, down: 'stride' as const })) }
  t.same(architectureBlocks(strides).map((b) => b.input.h), [28, 14, 7, 4, 2, 1])
  t.equal(checkArchitecture(strides), strides)
})

t.test('checkArchitecture reports every problem at once', async (t) => {
  const arch = {
    g: 3,
    blocks: [
      { op: 'conv', kernel: 4, width: 64, down: 'maxpool' },
      { op: 'pool', kernel: 3, width: 10, down: 'none' },
      { op: 'mbconv', kernel: 3, width: 16, down: 'avg', expand: 3 },
      { op: 'dwsep', kernel: 3, width: 16, down: 'none' },
      { op: 'dwsep', kernel: 3, width: 16, down: 'none' },
      { op: 'dwsep', kernel: 3, width: 16, down: 'none' },
    ],
  } as unknown as Architecture
  try {
    checkArchitecture(arch)
    t.fail('should throw')
  } catch (e) {
    t.match(e, INVALID)
    const msg = (e as Error).message
    for (const part of [
      'g 3 not in',
      '6 blocks, need 2 to 5',
      'block 1: kernel 4 not in 3|5|7',
      'block 2: op pool not in the space',
      'block 2: width 10 not in',
      'block 3: downsample avg not in the space',
      'block 3: expand 3 not in 2|4',
    ])
      t.ok(msg.includes(part), `names "${part}"`)
  }
  t.throws(() => checkArchitecture({ g: 1, blocks: [CONV4.blocks[0]] }), { ...INVALID, message: /1 blocks, need 2 to 5/ })
  // A narrower space refuses members of the default one.
  const narrow = { ...DEFAULT_SPACE, ops: ['conv' as const], multipliers: [1] }
  t.throws(() => checkArchitecture({ g: 0.5, blocks: [CONV4.blocks[0], { op: 'dwsep', kernel: 3, width: 16, down: 'none' }] }, narrow), {
    message: /g 0\.5 not in 1.*block 2: op dwsep not in the space/,
  })
})

t.test('parseArchitectureId rejects malformed ids', async (t) => {
  const bad = [
    '',
    'g1',
    'conv-k3-w64-mp_conv-k3-w64-mp',
    'g_conv-k3-w64-mp_conv-k3-w64-mp',
    'gx_conv-k3-w64-mp_conv-k3-w64-mp',
    'g3_conv-k3-w64-mp_conv-k3-w64-mp',
    'g1_conv-k3-w64-mp',
    'g1_conv-k3-w64-mp__conv-k3-w64-mp',
    'g1_conv-k3-w64-mp_conv-k3-w64-xx',
    'g1_conv-k3-w64-mp_conv-k4-w64-mp',
    'g1_conv-k3-w64-mp_conv-k3-w65-mp',
    'g1_conv-k3-w64-mp_conv-e2-k3-w64-mp',
    'g1_conv-k3-w64-mp_mbconv-e3-k3-w64-mp',
    'g1_conv-k3-w64-mp_pool-k3-w64-mp',
    'g1_conv-k3-w64-mp_conv-k3-w64-mp_',
    'g1_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-mp_conv-k3-w64-n',
    'g1_CONV-k3-w64-mp_conv-k3-w64-mp',
  ]
  for (const id of bad) t.throws(() => parseArchitectureId(id), INVALID, JSON.stringify(id))
  // Lenient spellings parse to one architecture whose id is the canonical one.
  t.equal(architectureId(parseArchitectureId('g1.0_conv-k3-w64-mp_mbconv-k3-w16-n')), 'g1_conv-k3-w64-mp_mbconv-e4-k3-w16-n')
})

t.test('spaceBlockKeys covers every sampled architecture without duplicates', async (t) => {
  const started = performance.now()
  const keys = spaceBlockKeys()
  const ms = performance.now() - started
  t.comment(`spaceBlockKeys(DEFAULT_SPACE): ${keys.length} keys in ${ms.toFixed(0)} ms`)
  // Pinned so that a change to the space or the walk is a deliberate one (LUTs are keyed on these).
  t.equal(keys.length, 15934)
  t.equal(new Set(keys).size, keys.length, 'no duplicates')
  t.same(keys, [...keys].sort(), 'sorted')
  t.same(spaceBlockKeys(), keys, 'stable')
  const lut = new Set(keys)
  let missing = 0
  for (const arch of sampled(500, 3))
    for (const b of architectureBlocks(arch))
      if (!lut.has(blockKey(b))) {
        missing++
        t.fail(`${architectureId(arch)} needs ${blockKey(b)}`)
      }
  t.equal(missing, 0, 'the LUT covers 500 sampled architectures')
  // Every key names its spec and parses back to it (the agent builds blocks from keys alone).
  let mismatched = 0
  for (const [key, spec] of spaceBlocks()) {
    if (blockKey(spec) !== key) mismatched++
    else if (JSON.stringify(parseBlockKey(key)) !== JSON.stringify(spec)) mismatched++
  }
  t.equal(mismatched, 0)
  t.ok(keys.some((k) => k.startsWith('head-')) && keys.some((k) => k.startsWith('mbconv-e2-')))
})

t.test('the whole default space fits in one job message', async (t) => {
  const keys = spaceBlockKeys()
  const text = encodeMessage('jobs', {
    v: 1,
    type: 'job',
    jobId: 'all',
    campaignId: 'c',
    runtime: 'onnxruntime',
    threads: 1,
    blocks: keys,
    settings: DEFAULT_MEASURE_SETTINGS,
    time: new Date().toISOString(),
  })
  t.comment(`job with every block key: ${Buffer.byteLength(text)} bytes`)
  t.ok(text.length > 0)
})
