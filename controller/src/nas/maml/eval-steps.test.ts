// The inner steps a checkpoint was validated with travel in the checkpoint and are what meta-eval
// and adapt use by default; a checkpoint without them falls back to its training steps.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArchitectureId } from '@fleetnas/shared'
import { createGlyphDataset } from '../data/glyphs.ts'
import { createTaskSampler } from '../data/tasks.ts'
import { metaEvalCommand } from '../../cli/commands/meta-eval.ts'
import { decodeCheckpoint, encodeCheckpoint, saveCheckpoint } from './checkpoint.ts'
import { evalStepsOf, resolveMamlConfig } from './config.ts'
import { metaTrain } from './meta-train.ts'

const ARCH = parseArchitectureId('g0.5_conv-k3-w32-mp_conv-k3-w32-mp')

t.test('evalSteps: validated, kept in the checkpoint, the default of meta-eval', async (t) => {
  t.throws(() => resolveMamlConfig({ way: 3, shot: 1, query: 2, iterations: 1, evalSteps: -1 }), { code: 'FLEETNAS_ERR_MAML_CONFIG' })
  t.equal(evalStepsOf({ innerSteps: 2 }), 2, 'absent: the training steps')
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-evalsteps-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const sampler = createTaskSampler(createGlyphDataset({ size: 28 }), { way: 3, shot: 1, query: 2, split: 'train' })
  for (const evalSteps of [undefined, 3]) {
    const ck = await metaTrain({ arch: ARCH, sampler, way: 3, shot: 1, query: 2, iterations: 1, innerSteps: 2, metaBatch: 1, ...(evalSteps !== undefined && { evalSteps }) })
    t.equal(decodeCheckpoint(encodeCheckpoint(ck)).config.evalSteps, evalSteps, 'round-trips through the file format')
    const file = join(dir, `ck-${evalSteps}.ckpt`)
    await saveCheckpoint(file, ck)
    const r = await metaEvalCommand({ checkpoint: file, dataset: 'glyphs', tasks: 2, split: 'val' }, { log: () => {} })
    t.equal(r.steps, evalSteps ?? 2, `meta-eval adapts ${evalSteps ?? 'the training'} steps by default`)
  }
})
