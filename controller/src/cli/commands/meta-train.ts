/**
 * `fleetnas meta-train`: first-order MAML meta-training of one architecture (Conv4 by default) on
 * a few-shot dataset, with a progress bar on stderr, checkpoints every `checkpointEvery`
 * iterations and at the end, optional validation every `valEvery` iterations, and `--resume` to
 * continue the run stored at `--out`. Ctrl-C stops after the current iteration and writes the
 * checkpoint first.
 *
 * Validation runs between stretches of training: metaTrain is stopped (its AbortSignal) at each
 * validation point and continued from the returned checkpoint, which is exactly the uninterrupted
 * run because task sampling is seeded per iteration.
 */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { CONV4, DEFAULT_SPACE, architectureId, parseArchitectureId, type Architecture } from '@fleetnas/shared'
import { createTaskSampler, type FewShotDataset, type InvertMode } from '../../nas/data/index.ts'
import { TrainingEngine } from '../../nas/engine/index.ts'
import { metaEvaluate, metaTrain, type Checkpoint } from '../../nas/maml/index.ts'
import { createProgress, formatDuration } from '../progress.ts'
import {
  MetaCheckpointExists,
  MetaCheckpointMissing,
  MetaOptionsInvalid,
  checkTrainData,
  datasetChoiceOf,
  withWay,
  openChosenDataset,
  percent,
  readCheckpoint,
  readRunRecord,
  writeRunRecord,
  type DatasetChoice,
  type RunRecord,
} from './meta-common.ts'

export interface MetaTrainCommandOptions {
  dataset?: string
  data?: string
  /** Canonical architecture id; default CONV4 (or the checkpoint's on --resume). */
  arch?: string
  way?: number
  shot?: number
  query?: number
  iterations?: number
  innerSteps?: number
  /** Inner steps of validation, stored in the checkpoint as meta-eval's and adapt's default. */
  evalSteps?: number
  innerLr?: number
  metaBatch?: number
  outerLr?: number
  seed?: number
  /** Every task starts from a zero head (config.zeroHead). */
  zeroHead?: boolean
  threads?: number
  out: string
  resume?: boolean
  force?: boolean
  /**
   * Start a new run from another checkpoint's parameters (a warm start): its architecture, input,
   * dataset and inner-loop settings are the defaults; the task shape and outer loop may change.
   */
  init?: string
  /** Validate every N iterations (and at the end); 0 = never. */
  valEvery?: number
  valTasks?: number
  /** Ways of the validation tasks (default: the training way; the head is re-sized, see withWay). */
  valWay?: number
  checkpointEvery?: number
  /** Image side (default 28). */
  size?: number
  /** folder dataset only. */
  channels?: number
  invert?: InvertMode
}

export interface MetaTrainSummary {
  checkpoint: string
  architectureId: string
  dataset: DatasetChoice
  way: number
  shot: number
  query: number
  iteration: number
  iterations: number
  /** Mean query accuracy and loss (after adaptation) over the last up to 50 iterations of this session. */
  trainAccuracy?: number
  trainLoss?: number
  /** Meta-training wall time of the whole run (all resumed sessions), validation excluded. */
  trainSeconds: number
  validation?: RunRecord['validation'][number]
  interrupted: boolean
}

export interface MetaTrainIo {
  log: (line: string) => void
  /** Abort to stop after the current iteration (the CLI wires Ctrl-C here). */
  signal?: AbortSignal
  /** Force the progress display into terminal or plain mode (tests). */
  tty?: boolean
}

const WINDOW = 50

export async function metaTrainCommand(o: MetaTrainCommandOptions, io: MetaTrainIo): Promise<MetaTrainSummary> {
  const out = resolve(o.out)
  const problems: string[] = []
  const exists = await stat(out).then(
    (s) => s.isFile(),
    () => false,
  )
  let from: Checkpoint | undefined
  let record: RunRecord | undefined
  if (o.resume) {
    if (o.force) problems.push('--resume and --force exclude each other')
    if (!exists) throw MetaCheckpointMissing(out)
    from = await readCheckpoint(out)
    record = await readRunRecord(out)
    if (o.init !== undefined) problems.push('--resume and --init exclude each other (--init starts a new run)')
  } else if (exists && !o.force) {
    throw MetaCheckpointExists(out)
  }
  let init: Checkpoint | undefined
  if (o.init !== undefined && !o.resume) {
    init = await readCheckpoint(o.init)
    record = await readRunRecord(resolve(o.init))
    if (record) record = { ...record, validation: [], trainMs: 0 }
  }
  const base = from ?? init

  const { kind, path, size, channels, iterations, valEvery, valTasks } = checkTrainData(o, record, { input: base?.space.input, iterations: from?.config.iterations }, problems)
  let arch: Architecture = base?.arch ?? CONV4
  if (o.arch !== undefined && init !== undefined) problems.push('--arch does not apply with --init (the architecture is the checkpoint\'s)')
  else if (o.arch !== undefined) {
    try {
      arch = parseArchitectureId(o.arch, { ...DEFAULT_SPACE, input: { h: size, w: size, c: channels } })
    } catch (e) {
      problems.push(`--arch: ${(e as Error).message}`)
    }
  }
  if (problems.length > 0) throw MetaOptionsInvalid(problems)

  const way = o.way ?? base?.config.way ?? 5
  const shot = o.shot ?? base?.config.shot ?? 1
  const query = o.query ?? base?.config.query ?? 15
  if (init !== undefined) {
    // A new run at iteration 0 from the checkpoint's parameters; its inner loop and outer
    // settings stay the defaults unless given; a fresh Adam state.
    const sized = await withWay(init, way)
    const zeros = () => new Float32Array(sized.params.length)
    from = { ...sized, iteration: 0, metrics: undefined, config: { ...init.config, way, shot, query }, adam: { m: zeros(), v: zeros(), t: 0 } }
  }
  const choice = datasetChoiceOf(kind!, path, size, channels, o.invert, record)
  const dataset = await openChosenDataset(choice, io.log)
  const sampler = createTaskSampler(dataset, { way, shot, query, split: 'train' })
  const valWay = o.valWay ?? way
  const valSampler = valEvery > 0 ? validationSampler(dataset, valWay, shot, query, io.log) : undefined

  const space = { input: { c: dataset.shape.channels, h: dataset.shape.height, w: dataset.shape.width }, classes: way }
  const id = architectureId(arch)
  const run: RunRecord = record ?? { format: 'fleetnas-meta-train-run', version: 1, dataset: choice, architectureId: id, validation: [], trainMs: 0, updatedAt: '' }
  run.dataset = choice
  run.architectureId = id
  const engine = new TrainingEngine({ threads: o.threads ?? 1 })
  const startIteration = from?.iteration ?? 0
  io.log(
    `meta-training ${id} on ${dataset.describe().source} (${kind}, train split: ${sampler.eligibleClasses} classes), ` +
      `${way}-way ${shot}-shot ${query}-query, iterations ${startIteration} -> ${iterations}, ${engine.threads} thread(s)`,
  )
  const progress = createProgress({
    total: iterations!,
    start: startIteration,
    tty: io.tty,
    initial: { loss: '-', acc: '-', rate: '-' },
    format: 'meta-train |{bar}| {value}/{total} it | loss {loss} | acc {acc} | {rate} | ETA {eta_formatted}',
    line: (value, total, p, eta) => `iteration ${value}/${total} | loss ${p.loss} | acc ${p.acc} | ${p.rate} | ETA ${formatDuration(eta)}`,
  })
  const recent: { loss: number; accuracy: number }[] = []
  let interrupted = false
  let lastValidation: RunRecord['validation'][number] | undefined
  let ck: Checkpoint | undefined = from
  let sessionStart = performance.now()
  const trainMsBefore = run.trainMs
  let trainMsThisSession = 0
  try {
    // At least one pass without a checkpoint, so --iterations 0 still writes the initial one.
    while (!interrupted && (ck === undefined || ck.iteration < iterations!)) {
      const done = ck?.iteration ?? 0
      const stopAt = valEvery > 0 ? Math.min(iterations!, (Math.floor(done / valEvery) + 1) * valEvery) : iterations!
      const stretch = new AbortController()
      const onAbort = () => {
        interrupted = true
        stretch.abort()
      }
      io.signal?.addEventListener('abort', onAbort, { once: true })
      if (io.signal?.aborted) onAbort()
      sessionStart = performance.now()
      try {
        ck = await metaTrain({
          arch,
          sampler,
          space,
          way,
          shot,
          query,
          iterations: iterations!,
          innerSteps: o.innerSteps,
          evalSteps: o.evalSteps,
          innerLr: o.innerLr,
          metaBatch: o.metaBatch,
          outerLr: o.outerLr,
          seed: o.seed,
          zeroHead: o.zeroHead,
          engine,
          resumeFrom: ck,
          checkpoint: { path: out, every: o.checkpointEvery ?? 100 },
          signal: stretch.signal,
          onProgress: (p) => {
            recent.push({ loss: p.loss, accuracy: p.accuracy })
            if (recent.length > WINDOW) recent.shift()
            const m = windowMean(recent)
            progress.update(p.iteration, { loss: m.loss.toFixed(3), acc: percent(m.accuracy, 1), rate: `${(p.elapsedMs / 1000 / Math.max(1, p.iteration - done)).toFixed(2)} s/it` })
            if (p.iteration >= stopAt) stretch.abort()
          },
        })
      } finally {
        io.signal?.removeEventListener('abort', onAbort)
        trainMsThisSession += performance.now() - sessionStart
      }
      run.trainMs = trainMsBefore + trainMsThisSession
      if (valSampler && !interrupted && (ck.iteration % valEvery === 0 || ck.iteration === iterations)) {
        const r = await metaEvaluate(await withWay(ck, valWay), valSampler, { tasks: valTasks, engine })
        lastValidation = { iteration: ck.iteration, split: 'val', way: valWay, accuracy: r.accuracy, ci95: r.ci95, tasks: r.tasks }
        run.validation.push(lastValidation)
        progress.log(`validation at iteration ${ck.iteration}: ${percent(r.accuracy)} ± ${percent(r.ci95)} (${r.tasks} ${valWay}-way val tasks)`)
      }
      await writeRunRecord(out, run)
    }
    // --resume of a finished run trains nothing; the record is still brought up to date.
    if (ck!.iteration === startIteration) await writeRunRecord(out, run)
  } finally {
    progress.stop()
    await engine.dispose()
  }
  const m = recent.length > 0 ? windowMean(recent) : undefined
  return {
    checkpoint: out,
    architectureId: id,
    dataset: choice,
    way,
    shot,
    query,
    iteration: ck!.iteration,
    iterations: iterations!,
    trainAccuracy: m?.accuracy,
    trainLoss: m?.loss,
    trainSeconds: run.trainMs / 1000,
    validation: lastValidation ?? run.validation.at(-1),
    interrupted,
  }
}

function validationSampler(dataset: FewShotDataset, way: number, shot: number, query: number, log: (l: string) => void) {
  try {
    return createTaskSampler(dataset, { way, shot, query, split: 'val' })
  } catch (e) {
    log(`no validation: ${(e as Error).message}`)
    return undefined
  }
}

function windowMean(rows: { loss: number; accuracy: number }[]) {
  let loss = 0
  let accuracy = 0
  for (const r of rows) {
    loss += r.loss
    accuracy += r.accuracy
  }
  return { loss: loss / rows.length, accuracy: accuracy / rows.length }
}

export function describeMetaTrain(s: MetaTrainSummary): string {
  const lines = [
    `${s.interrupted ? 'interrupted' : 'meta-trained'} ${s.architectureId} on ${s.dataset.kind}: ${s.way}-way ${s.shot}-shot, iteration ${s.iteration}/${s.iterations}, ` +
      `train time ${formatDuration(s.trainSeconds)}`,
  ]
  if (s.trainAccuracy !== undefined) lines.push(`query accuracy after adaptation (last ${WINDOW} iterations): ${percent(s.trainAccuracy)}, loss ${s.trainLoss!.toFixed(3)}`)
  if (s.validation) lines.push(`validation at iteration ${s.validation.iteration}: ${percent(s.validation.accuracy)} ± ${percent(s.validation.ci95)} (${s.validation.tasks} tasks)`)
  lines.push(`checkpoint: ${s.checkpoint}${s.interrupted ? ' (continue with --resume)' : ''}`)
  return lines.join('\n')
}
