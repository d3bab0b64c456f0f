/**
 * The supernet CLI end to end, through the real binary (`node controller/bin/fleetnas.js`) on the
 * built-in glyph dataset at 16x16: `supernet train` for a few iterations (progress with the
 * sandwich's ends on stderr, validation, checkpoint and run record on disk), `--resume` (at --out,
 * or from another file) equals the uninterrupted run, Ctrl-C writes a checkpoint and exits 130,
 * `supernet eval` prints one sub-network's accuracy with its 95% CI (and JSON); errors by exit
 * code and code.
 */
import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { loadSupernetCheckpoint } from '../controller/src/nas/supernet/index.ts'
import { exits0, runCli, tempDir } from './helpers/fleet.ts'

const TRAIN = ['supernet', 'train', '--dataset', 'glyphs', '--size', '16', '--way', '3', '--shot', '1', '--query', '3', '--inner-steps', '2', '--compute-cap', '1', '--seed', '7']
const SUBNET = 'g1_conv-k3-w32-mp_dwsep-k5-w24-mp_mbconv-e2-k3-w16-n'

const cli = (args: string[], onStderr?: (text: string, child: ChildProcess) => void) => runCli(args, {}, onStderr)

const sameParams = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i])

t.test('supernet train, resume, interrupt and eval through the CLI', async (t) => {
  const dir = await tempDir('fleetnas-cli-supernet-')
  t.teardown(dir.remove)
  const straight = join(dir.path, 'straight.ckpt')
  const half = join(dir.path, 'half.ckpt')

  const [a, b] = await Promise.all([
    cli([...TRAIN, '--iterations', '6', '--out', straight, '--checkpoint-every', '2', '--val-every', '3', '--val-tasks', '3', '--json']),
    cli([...TRAIN, '--iterations', '3', '--out', half]),
  ])
  exits0(t, a, 'supernet train (straight)')
  exits0(t, b, 'supernet train (half)')
  const summary = JSON.parse(a.stdout)
  t.match(summary, { iteration: 6, iterations: 6, way: 3, shot: 1, query: 3, interrupted: false, dataset: { kind: 'glyphs', size: 16 } })
  t.equal(summary.validation.iteration, 6)
  t.equal(summary.validation.subnets.length, 6, 'largest and smallest of each op')
  t.ok(summary.largestAccuracy >= 0 && summary.smallestAccuracy <= 1 && Number.isFinite(summary.trainLoss))
  t.match(a.stderr, /iteration \d+\/6 \| loss \d+\.\d+ \| acc \d+\.\d+% \| largest \d+\.\d+% \| smallest \d+\.\d+% .*ETA/, 'progress with the sandwich ends on stderr')
  t.match(a.stderr, /validation at iteration 3 \(3 3-way val tasks\):\n {2}largest /)
  t.ok(existsSync(`${straight}.run.json`), 'run record beside the checkpoint')
  t.match(b.stdout, /^meta-trained supernet on glyphs: 3-way 1-shot, iteration 3\/3/)

  const exists = await cli([...TRAIN, '--iterations', '6', '--out', half])
  t.equal(exists.code, 2)
  t.match(exists.stderr, /FLEETNAS_ERR_CLI_CHECKPOINT_EXISTS/)

  // --resume FILE continues that run into --out; --resume alone continues the run at --out.
  const elsewhere = join(dir.path, 'elsewhere.ckpt')
  const fromFile = await cli(['supernet', 'train', '--resume', half, '--iterations', '6', '--out', elsewhere, '--json'])
  exits0(t, fromFile, 'supernet train --resume FILE')
  const inPlace = await cli(['supernet', 'train', '--resume', '--iterations', '6', '--out', half, '--threads', '2', '--json'])
  exits0(t, inPlace, 'supernet train --resume --threads 2')
  const [x, y, z] = await Promise.all([loadSupernetCheckpoint(straight), loadSupernetCheckpoint(elsewhere), loadSupernetCheckpoint(half)])
  t.equal(y.iteration, 6)
  t.ok(sameParams(y.params, x.params), 'resumed from another file (dataset and options from its run record and checkpoint) equals the straight run')
  t.ok(sameParams(z.params, x.params), 'resumed in place at two threads equals the straight run')

  const interruptedPath = join(dir.path, 'interrupted.ckpt')
  let sent = false
  const interrupted = await cli([...TRAIN, '--iterations', '100000', '--out', interruptedPath], (text, child) => {
    if (!sent && /iteration \d+\/100000/.test(text)) {
      sent = true
      child.kill('SIGINT')
    }
  })
  t.equal(interrupted.code, 130, interrupted.code === 130 ? 'Ctrl-C exits 130' : interrupted.stderr)
  t.match(interrupted.stdout, /^interrupted supernet [^]* \(continue with --resume\)/)
  const stopped = await loadSupernetCheckpoint(interruptedPath)
  t.ok(stopped.iteration >= 1 && stopped.iteration < 100000)

  const [text, json, fourWay] = await Promise.all([
    cli(['supernet', 'eval', '--checkpoint', straight, '--arch', 'largest:dwsep', '--tasks', '6']),
    cli(['supernet', 'eval', '--checkpoint', straight, '--arch', SUBNET, '--shot', '2', '--tasks', '6', '--split', 'val', '--steps', '3', '--json']),
    cli(['supernet', 'eval', '--checkpoint', straight, '--arch', SUBNET, '--way', '4', '--tasks', '4', '--json']),
  ])
  exits0(t, text, 'supernet eval')
  t.match(text.stdout, /^g[\d.]+_dwsep-k\d-w\d+-mp_\S+: 3-way 1-shot accuracy \d+\.\d\d% ± \d+\.\d\d% \(95% CI, 6 tasks of the glyphs test split, 2 steps, inherited weights of iteration 6/)
  exits0(t, json, 'supernet eval --json')
  const r = JSON.parse(json.stdout)
  t.match(r, { architectureId: SUBNET, way: 3, shot: 2, tasks: 6, split: 'val', steps: 3, iteration: 6 })
  t.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.ci95 >= 0 && r.ci95 < 1)
  exits0(t, fourWay, 'supernet eval --way 4')
  const four = JSON.parse(fourWay.stdout)
  t.equal(four.way, 4)
  t.ok(Math.abs(four.innerLr - (0.4 * 4) / 3) < 1e-12, 'the zero-head inner rate scales with the way')

  const [notInSpace, missing] = await Promise.all([
    cli(['supernet', 'eval', '--checkpoint', straight, '--arch', 'g3_conv-k3-w16-mp_conv-k3-w16-mp', '--tasks', '2']),
    cli(['supernet', 'eval', '--checkpoint', join(dir.path, 'nope.ckpt'), '--arch', SUBNET]),
  ])
  t.equal(notInSpace.code, 2)
  t.match(notInSpace.stderr, /FLEETNAS_ERR_SUPERNET_SUBNET/)
  t.equal(missing.code, 3)
  t.match(missing.stderr, /FLEETNAS_ERR_CLI_CHECKPOINT_MISSING.*fleetnas supernet train --out/)
})
