/**
 * The manual baselines of bench:nas: the Conv4 family meta-trained from scratch, each on its own,
 * with the supernet's recipe (task shape, inner steps and rates, meta-batch, outer rate, seed) and
 * as many meta-iterations as the searched networks saw (supernet training plus fine-tuning). Kept
 * in the work directory by width and iterations, and resumed there, so a rerun does not train them
 * again.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { architectureId, type Architecture } from '@fleetnas/shared'
import type { TaskSampler } from '../../controller/src/nas/data/index.ts'
import { loadCheckpoint, metaTrain, type Checkpoint } from '../../controller/src/nas/maml/index.ts'
import type { SupernetCheckpoint } from '../../controller/src/nas/supernet/index.ts'
import type { ProgressLine } from './progress-line.ts'

export interface Baseline {
  arch: Architecture
  id: string
  checkpoint: Checkpoint
  trainMs: number
}

export async function trainBaselines(opts: {
  family: Architecture[]
  supernet: SupernetCheckpoint
  iterations: number
  sampler: TaskSampler
  threads: number
  workDir: string
  progress: ProgressLine
}): Promise<Baseline[]> {
  const c = opts.supernet.config
  const out: Baseline[] = []
  for (const arch of opts.family) {
    const id = architectureId(arch)
    const path = join(opts.workDir, `baseline-${id}-i${opts.iterations}.ckpt`)
    const t0 = performance.now()
    const checkpoint = await metaTrain({
      arch,
      space: { input: opts.supernet.space.input, classes: c.way },
      sampler: opts.sampler,
      way: c.way,
      shot: c.shot,
      query: c.query,
      iterations: opts.iterations,
      innerSteps: c.innerSteps,
      innerLr: c.innerLr,
      metaBatch: c.metaBatch,
      outerLr: c.outerLr,
      seed: c.seed,
      zeroHead: true,
      threads: opts.threads,
      checkpoint: { path, every: 200 },
      ...(existsSync(path) && { resumeFrom: await loadCheckpoint(path) }),
      onProgress: (p) =>
        opts.progress.update(`baseline ${id}: iteration ${p.iteration}/${p.iterations}, loss ${p.loss.toFixed(3)}, accuracy ${(p.accuracy * 100).toFixed(1)}%, ${p.tasksPerSecond.toFixed(2)} tasks/s`),
    })
    opts.progress.done()
    out.push({ arch, id, checkpoint, trainMs: performance.now() - t0 })
  }
  return out
}
