/** A tiny supernet checkpoint for end-to-end tests: three meta-iterations on 28x28 glyphs, 3-way, a few seconds. */
import { createGlyphDataset, createTaskSampler } from '../../controller/src/nas/data/index.ts'
import { supernetMetaTrain } from '../../controller/src/nas/supernet/index.ts'

export async function tinySupernet(path: string): Promise<void> {
  const dataset = createGlyphDataset({ size: 28 })
  await supernetMetaTrain({
    sampler: createTaskSampler(dataset, { way: 3, shot: 1, query: 3, split: 'train' }),
    way: 3,
    shot: 1,
    query: 3,
    iterations: 3,
    innerSteps: 1,
    metaBatch: 2,
    computeCap: 1,
    checkpoint: { path },
  })
}
