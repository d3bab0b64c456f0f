/**
 * `fleetnas adapt`: the user's own few-shot task. The support folder has one subfolder per class
 * (its name is the label) with a few images each; the query folder holds images to classify.
 * Images of any size and format sharp reads are resized to the checkpoint's input and converted to
 * its channels; the meta-trained model takes a few SGD steps on the support set and labels every
 * query image. Any number of classes (>= 2) works: the head is re-sized to the support's classes.
 *
 * Ink polarity: models trained on glyphs or Omniglot expect ink = 1 (light strokes on black), while
 * scans are dark ink on white, so for those checkpoints the default is 'auto' (invert images that
 * are mostly light); a folder-trained checkpoint uses the setting it was trained with.
 */
import { evalStepsOf } from '../../nas/maml/config.ts'
import { join, relative, resolve } from 'node:path'
import { loadQueryFolder, loadSupportFolder, type InvertMode, type ResizeFit } from '../../nas/data/index.ts'
import { adaptAndPredict } from '../../nas/maml/index.ts'
import { MetaOptionsInvalid, readCheckpoint, readRunRecord, withWay, type RunRecord } from './meta-common.ts'

export interface AdaptCommandOptions {
  checkpoint: string
  support: string
  query: string
  steps?: number
  lr?: number
  invert?: InvertMode
  fit?: ResizeFit
  threads?: number
}

export interface QueryPrediction {
  /** The query file as the user named it (query folder as given, joined with the file name). */
  file: string
  label: string
  probability: number
}

export interface AdaptResult {
  checkpoint: string
  architectureId: string
  labels: string[]
  supportImages: number
  steps: number
  lr: number
  invert: InvertMode
  predictions: QueryPrediction[]
  skipped: string[]
}

export function defaultInvert(record: RunRecord | undefined, channels: number): InvertMode {
  if (record === undefined) return channels === 1 ? 'auto' : false
  if (record.dataset.kind === 'folder') return record.dataset.invert ?? false
  return 'auto'
}

export async function adaptCommand(o: AdaptCommandOptions, io: { log: (line: string) => void }): Promise<AdaptResult> {
  const problems: string[] = []
  if (o.fit !== undefined && !['fill', 'cover', 'contain'].includes(o.fit)) problems.push(`--fit must be fill, cover or contain, got ${JSON.stringify(o.fit)}`)
  if (problems.length > 0) throw MetaOptionsInvalid(problems)
  const ck0 = await readCheckpoint(o.checkpoint)
  const record = await readRunRecord(resolve(o.checkpoint))
  const { c, h } = ck0.space.input
  const invert = o.invert ?? defaultInvert(record, c)
  const imageOpts = { size: h, channels: c as 1 | 3, invert, fit: o.fit ?? 'fill' }
  const support = await loadSupportFolder(o.support, imageOpts)
  const query = await loadQueryFolder(o.query, imageOpts)
  const skipped = [...support.skipped, ...query.skipped]
  if (skipped.length > 0) io.log(`skipped ${skipped.length} file(s) that are not images: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''}`)
  if (support.labels.length < 2) {
    throw MetaOptionsInvalid([`the support folder ${resolve(o.support)} has ${support.labels.length} class subfolder; few-shot classification needs at least 2`])
  }
  const ck = await withWay(ck0, support.labels.length)
  const steps = o.steps ?? evalStepsOf(ck.config)
  const lr = o.lr ?? ck.config.innerLr
  if (support.labels.length !== ck0.config.way) {
    io.log(`the support set has ${support.labels.length} classes, the checkpoint was meta-trained ${ck0.config.way}-way: its head is re-sized`)
  }
  const prediction = await adaptAndPredict(ck, { x: support.x, y: support.y }, query.x, { steps, lr, threads: o.threads ?? 1 })
  const k = support.labels.length
  const queryRoot = resolve(o.query)
  const predictions = query.files.map((file, i) => {
    const label = prediction.labels[i]
    return { file: join(o.query, relative(queryRoot, file)), label: support.labels[label], probability: prediction.probabilities[i * k + label] }
  })
  return {
    checkpoint: resolve(o.checkpoint),
    architectureId: ck.architectureId,
    labels: support.labels,
    supportImages: support.y.length,
    steps,
    lr,
    invert,
    predictions,
    skipped,
  }
}

export function describeAdapt(r: AdaptResult): string {
  const width = Math.max(...r.predictions.map((p) => p.file.length))
  return r.predictions.map((p) => `${p.file.padEnd(width)}  ${p.label}  ${p.probability.toFixed(3)}`).join('\n')
}
