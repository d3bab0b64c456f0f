/**
 * The meta-learning CLI end to end, through the real binary (`node controller/bin/fleetnas.js`) on
 * the built-in glyph dataset: meta-train a small architecture for a few iterations (progress on
 * stderr, checkpoint and run record on disk), resume equals the uninterrupted run, Ctrl-C writes a
 * checkpoint and exits 130, meta-eval prints accuracy with its 95% CI (and JSON), adapt labels
 * PNG and JPEG query images of other sizes from support folders; errors by exit code and code.
 */
import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { createGlyphDataset } from '../controller/src/nas/data/index.ts'
import { loadCheckpoint } from '../controller/src/nas/maml/index.ts'
import { exits0, runCli, tempDir } from './helpers/fleet.ts'

const ARCH = 'g0.5_conv-k3-w32-mp_conv-k3-w32-mp'
const TRAIN = ['--dataset', 'glyphs', '--arch', ARCH, '--way', '3', '--shot', '1', '--query', '3', '--meta-batch', '2', '--inner-steps', '2', '--seed', '7']

const cli = (args: string[], onStderr?: (text: string, child: ChildProcess) => void) => runCli(args, {}, onStderr)

/** A glyph rendering as a "scan": dark ink on white, at any size, as PNG or JPEG. */
async function scan(pixels: Float32Array, size: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const grey = Buffer.alloc(size * size)
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(255 * (1 - pixels[i]))
  return sharp(grey, { raw: { width: size, height: size, channels: 1 } }).toFormat(format).toBuffer()
}

t.test('meta-train, resume, interrupt, meta-eval and adapt through the CLI', async (t) => {
  const dir = await tempDir('fleetnas-cli-meta-')
  t.teardown(dir.remove)
  const straight = join(dir.path, 'straight.ckpt')
  const half = join(dir.path, 'half.ckpt')

  // A straight run of 6 iterations with validation, and a run stopped at 3 then resumed to 6.
  const [a, b] = await Promise.all([
    cli(['meta-train', ...TRAIN, '--iterations', '6', '--out', straight, '--checkpoint-every', '2', '--val-every', '3', '--val-tasks', '5', '--json']),
    cli(['meta-train', ...TRAIN, '--iterations', '3', '--out', half]),
  ])
  exits0(t, a, 'meta-train (straight)')
  exits0(t, b, 'meta-train (half)')
  const summary = JSON.parse(a.stdout)
  t.equal(summary.iteration, 6)
  t.equal(summary.architectureId, ARCH)
  t.equal(summary.validation.iteration, 6)
  t.ok(summary.validation.accuracy >= 0 && summary.validation.accuracy <= 1)
  t.ok(summary.trainAccuracy >= 0 && summary.trainAccuracy <= 1 && Number.isFinite(summary.trainLoss))
  t.match(a.stderr, /iteration \d+\/6 \| loss \d+\.\d+ \| acc \d+\.\d+% .*ETA/, 'progress with loss, accuracy and ETA on stderr')
  t.match(a.stderr, /validation at iteration 3: \d+\.\d+% ± \d+\.\d+%/)
  t.ok(existsSync(`${straight}.run.json`), 'run record beside the checkpoint')
  t.match(b.stdout, /meta-trained g0\.5_conv.* iteration 3\/3/)

  const exists = await cli(['meta-train', ...TRAIN, '--iterations', '6', '--out', half])
  t.equal(exists.code, 2)
  t.match(exists.stderr, /FLEETNAS_ERR_CLI_CHECKPOINT_EXISTS/)
  const resumed = await cli(['meta-train', '--resume', '--iterations', '6', '--out', half, '--json'])
  exits0(t, resumed, 'meta-train --resume')
  t.equal(JSON.parse(resumed.stdout).iteration, 6)
  const [x, y] = await Promise.all([loadCheckpoint(straight), loadCheckpoint(half)])
  t.equal(y.iteration, 6)
  t.same(y.params, x.params, 'resumed run (dataset, arch and options from the checkpoint) equals the straight one')

  // Ctrl-C: stops after the current iteration, writes the checkpoint, exits 130.
  const interruptedPath = join(dir.path, 'interrupted.ckpt')
  let sent = false
  const interrupted = await cli(['meta-train', ...TRAIN, '--iterations', '100000', '--out', interruptedPath], (text, child) => {
    if (!sent && /iteration \d+\/100000/.test(text)) {
      sent = true
      child.kill('SIGINT')
    }
  })
  t.equal(interrupted.code, 130, interrupted.code === 130 ? 'Ctrl-C exits 130' : interrupted.stderr)
  t.match(interrupted.stdout, /^interrupted [^]* \(continue with --resume\)/)
  const stopped = await loadCheckpoint(interruptedPath)
  t.ok(stopped.iteration >= 1 && stopped.iteration < 100000)

  // meta-eval: text and JSON; the dataset comes from the run record; another way re-sizes the head.
  const [text, json, fourWay] = await Promise.all([
    cli(['meta-eval', '--checkpoint', straight, '--tasks', '8']),
    cli(['meta-eval', '--checkpoint', straight, '--dataset', 'glyphs', '--shot', '2', '--tasks', '8', '--split', 'val', '--steps', '3', '--json']),
    cli(['meta-eval', '--checkpoint', straight, '--way', '4', '--tasks', '4', '--json']),
  ])
  exits0(t, text, 'meta-eval')
  t.match(text.stdout, /^3-way 1-shot accuracy: \d+\.\d\d% ± \d+\.\d\d% \(95% CI, 8 tasks of the glyphs test split/)
  exits0(t, json, 'meta-eval --json')
  const r = JSON.parse(json.stdout)
  t.match(r, { way: 3, shot: 2, tasks: 8, split: 'val', steps: 3, architectureId: ARCH, iteration: 6 })
  t.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.ci95 >= 0 && r.ci95 < 1)
  exits0(t, fourWay, 'meta-eval --way 4')
  t.equal(JSON.parse(fourWay.stdout).way, 4)

  // adapt: glyph classes of the test split drawn as dark-on-white scans, PNG and JPEG, sizes 40-96.
  const support = join(dir.path, 'support')
  const query = join(dir.path, 'query')
  mkdirSync(query)
  const labels = ['alpha', 'beta', 'gamma']
  const sizes = [40, 64, 96]
  const renderings = sizes.map((size) => createGlyphDataset({ size }).classes('test'))
  const expected: Record<string, string> = {}
  for (const [k, label] of labels.entries()) {
    mkdirSync(join(support, label), { recursive: true })
    writeFileSync(join(support, label, 'a.png'), await scan(renderings[0][k].image(0), 40, 'png'))
    writeFileSync(join(support, label, 'b.jpg'), await scan(renderings[2][k].image(1), 96, 'jpeg'))
    for (const [i, format] of (['png', 'jpeg'] as const).entries()) {
      const file = `q-${k}-${i}.${format === 'png' ? 'png' : 'jpg'}`
      writeFileSync(join(query, file), await scan(renderings[1][k].image(2 + i), 64, format))
      expected[join(query, file)] = label
    }
  }
  writeFileSync(join(query, 'notes.txt'), 'not an image')
  const [adaptedJson, adaptedText, inverted] = await Promise.all([
    cli(['adapt', '--checkpoint', straight, '--support', support, '--query', query, '--steps', '5', '--json']),
    cli(['adapt', '--checkpoint', straight, '--support', support, '--query', query]),
    cli(['adapt', '--checkpoint', straight, '--support', support, '--query', query, '--invert', 'false', '--json']),
  ])
  exits0(t, adaptedJson, 'adapt --json')
  const lines = adaptedJson.stdout.trim().split('\n').map((l) => JSON.parse(l))
  t.equal(lines.length, 6, 'one line per query image')
  t.same(lines.map((l) => l.file).sort(), Object.keys(expected).sort())
  for (const l of lines) {
    t.ok(labels.includes(l.label), `label ${l.label} is a support folder`)
    t.ok(l.probability > 0 && l.probability <= 1)
  }
  const correct = lines.filter((l) => expected[l.file] === l.label).length
  t.ok(correct >= 1, `${correct}/6 query glyphs labelled with their class`)
  t.match(adaptedJson.stderr, /skipped 1 file/)
  exits0(t, adaptedText, 'adapt')
  t.equal(adaptedText.stdout.trim().split('\n').length, 6)
  t.match(adaptedText.stdout, /q-0-0\.png\s+(alpha|beta|gamma)\s+0\.\d{3}/)
  exits0(t, inverted, 'inverted')
  t.equal(inverted.stdout.trim().split('\n').length, 6, '--invert is accepted')

  // Errors: exit code and error code.
  const corrupt = join(dir.path, 'corrupt.ckpt')
  writeFileSync(corrupt, 'FNASCKP1 not really')
  const oneClass = join(dir.path, 'one-class')
  mkdirSync(join(oneClass, 'only'), { recursive: true })
  writeFileSync(join(oneClass, 'only', 'a.png'), await scan(renderings[0][0].image(0), 40, 'png'))
  const missing = join(dir.path, 'missing.ckpt')
  const cases: [string, string[], number, string][] = [
    ['missing checkpoint', ['adapt', '--checkpoint', missing, '--support', support, '--query', query], 3, 'FLEETNAS_ERR_CLI_CHECKPOINT_MISSING'],
    ['corrupt checkpoint', ['meta-eval', '--checkpoint', corrupt, '--tasks', '2'], 2, 'FLEETNAS_ERR_MAML_CHECKPOINT_INVALID'],
    ['missing support folder', ['adapt', '--checkpoint', straight, '--support', join(dir.path, 'nope'), '--query', query], 3, 'FLEETNAS_ERR_DATA_PATH_MISSING'],
    ['one support class', ['adapt', '--checkpoint', straight, '--support', oneClass, '--query', query], 2, 'FLEETNAS_ERR_CLI_META_OPTIONS'],
    ['resume without checkpoint', ['meta-train', '--resume', '--out', missing], 3, 'FLEETNAS_ERR_CLI_CHECKPOINT_MISSING'],
    ['bad architecture id', ['meta-train', '--dataset', 'glyphs', '--arch', 'g3_conv', '--iterations', '1', '--out', missing], 2, 'FLEETNAS_ERR_CLI_META_OPTIONS'],
    ['omniglot without --data', ['meta-train', '--dataset', 'omniglot', '--iterations', '1', '--out', missing], 2, 'FLEETNAS_ERR_CLI_META_OPTIONS'],
    ['omniglot path missing', ['meta-eval', '--checkpoint', straight, '--dataset', 'omniglot', '--data', join(dir.path, 'none.zip')], 3, 'FLEETNAS_ERR_DATA_PATH_MISSING'],
    ['way too large for the split', ['meta-eval', '--checkpoint', straight, '--shot', '30', '--tasks', '1'], 2, 'FLEETNAS_ERR_DATA_NOT_ENOUGH_SAMPLES'],
  ]
  const runs = await Promise.all(cases.map(([, args]) => cli(args)))
  cases.forEach(([what, , exit, code], i) => {
    t.equal(runs[i].code, exit, runs[i].code === exit ? `${what}: exit ${exit}` : `${what}: ${runs[i].stderr.trim()}`)
    t.match(runs[i].stderr, new RegExp(`error ${code}: `), `${what}: ${code}`)
  })
  t.notOk(existsSync(missing), 'failed runs write no checkpoint')
  const usage = await cli(['meta-train', '--dataset', 'glyphs', '--iterations', '1'])
  t.equal(usage.code, 2, 'missing --out is a usage error')
  t.match(usage.stderr, /--out/)
})

t.test('a zero-head run trains at one way and validates at another', async (t) => {
  const dir = await tempDir('fleetnas-cli-meta-way-')
  t.teardown(dir.remove)
  const out = join(dir.path, 'zh.ckpt')
  const run = await cli(['meta-train', ...TRAIN, '--zero-head', '--iterations', '2', '--val-every', '2', '--val-tasks', '4', '--val-way', '5', '--out', out, '--json'])
  exits0(t, run, 'meta-train --val-way 5')
  const summary = JSON.parse(run.stdout)
  t.equal(summary.way, 3, 'trained 3-way')
  t.equal(summary.validation.way, 5, 'validated 5-way')
  t.match(run.stderr, /\(4 5-way val tasks\)/)
  const ck = await loadCheckpoint(out)
  t.equal(ck.space.classes, 3, 'the checkpoint keeps its training head')
  // At another way the default inner rate keeps a step's pull on each class column as in training.
  const wider = await cli(['meta-eval', '--checkpoint', out, '--way', '5', '--tasks', '3', '--json'])
  exits0(t, wider, 'meta-eval --way 5')
  t.equal(JSON.parse(wider.stdout).innerLr, (ck.config.innerLr * 5) / 3, 'inner lr scaled by way / training way')
  const given = await cli(['meta-eval', '--checkpoint', out, '--way', '5', '--tasks', '3', '--inner-lr', '0.3', '--json'])
  t.equal(JSON.parse(given.stdout).innerLr, 0.3, 'an explicit --inner-lr wins')
  const bad = await cli(['meta-train', ...TRAIN, '--iterations', '1', '--val-every', '1', '--val-way', '1', '--out', join(dir.path, 'bad.ckpt')])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--val-way must be >= 2/)
})
