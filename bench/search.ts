/**
 * `npm run bench:search`: how fast the genetic search answers, with the accuracy predictor as its
 * accuracy function and a MACs-based latency stand-in (the synthetic problem of the search tests;
 * no LUT, no supernet). Issue target: a request answered in at most 30 s.
 *
 *   1. fit the accuracy predictor on --pairs synthetic (architecture, accuracy) pairs (1 point of
 *      noise): fit time and held-out Kendall tau;
 *   2. rank 20,000 random architectures with it: architectures per second;
 *   3. per latency budget (20, 40, 60 and 100% of Conv4's stand-in latency), a full search
 *      (--population, --generations): wall time, candidates evaluated and checked per second,
 *      counts, where the time went, the best and the size of the Pareto front; beside it the same
 *      search on the true synthetic accuracy, to show what the predictor costs in quality.
 *
 *   npm run bench:search
 *   npm run bench:search -- --population 100 --generations 30 --pairs 200 --json out.json
 */
import { writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { positiveInt } from './lib/cli-args.ts'
import { architectureParams, CONV4, createRng, sampleArchitectures, type Architecture } from '@fleetnas/shared'
import { evolutionSearch, type SearchFunctions, type SearchResult } from '../controller/src/nas/search/evolution.ts'
import { fitAccuracyPredictor } from '../controller/src/nas/search/accuracy-predictor.ts'
import { spaceOperators } from '../controller/src/nas/search/operators.ts'
import { macsLatencyMs, syntheticAccuracy } from '../controller/src/nas/search/synthetic.fixture.ts'
import { loadAverage, machineInfo } from './lib/machine.ts'
import { atMost, renderTargets, type TargetRow } from './lib/targets.ts'

const TARGET_S = 30
const BUDGETS = [0.2, 0.4, 0.6, 1]

interface Options {
  population: number
  generations: number
  pairs: number
  seed: number
  json?: string
}


function parseOptions(argv: string[]): Options {
  const cmd = new Command('bench:search')
    .description('wall time and throughput of the genetic search with the accuracy predictor and a MACs-based latency stand-in')
    .option('--population <n>', 'children per generation', positiveInt, 100)
    .option('--generations <n>', 'generations after the initial population', positiveInt, 30)
    .option('--pairs <n>', 'synthetic (architecture, accuracy) pairs the predictor is fitted on (a request fits on 48)', positiveInt, 200)
    .option('--seed <n>', 'search seed', positiveInt, 1)
    .option('--json <file>', 'also write the figures to this JSON file')
  cmd.parse(argv)
  return cmd.opts<Options>()
}

interface BudgetRow {
  budgetShare: number
  latencyBudgetMs: number
  wallS: number
  evaluatedPerS: number
  checkedPerS: number
  counts: SearchResult['counts']
  timings: SearchResult['timings']
  best: { id: string; predictedAccuracy: number; trueAccuracy: number; latencyMs: number } | null
  frontSize: number
  /** Best true accuracy when the search runs on the true function (no predictor). */
  oracleBestAccuracy: number | null
}

const secs = (ms: number) => ms / 1000
const fixed = (d: number) => (v: number) => v.toFixed(d)

async function main(): Promise<void> {
  const opts = parseOptions(process.argv)
  const machine = machineInfo()
  const loadStart = loadAverage()
  console.log(`bench:search on ${machine.cpuModel} (${machine.cores} cores, node ${machine.node}), load ${loadStart.join(' ')}`)

  const noise = createRng('bench-search-noise')
  const pairs = sampleArchitectures(createRng('bench-search-pairs'), opts.pairs).map((architecture) => ({
    architecture,
    accuracy: syntheticAccuracy(architecture) + 0.01 * noise.normal(),
  }))
  let t0 = performance.now()
  const predictor = fitAccuracyPredictor(pairs)
  const fitS = secs(performance.now() - t0)
  console.log(
    `predictor: ${predictor.kind} on ${opts.pairs} pairs, fitted in ${fitS.toFixed(2)} s; held-out Kendall tau ${predictor.report.heldOut.kendallTau.toFixed(3)}, rmse ${predictor.report.heldOut.rmse.toFixed(4)}`,
  )
  const ranked = sampleArchitectures(createRng('bench-search-rank'), 20_000)
  t0 = performance.now()
  predictor.predict(ranked)
  const rankPerS = ranked.length / secs(performance.now() - t0)
  console.log(`predictor ranks ${Math.round(rankPerS).toLocaleString('en')} architectures/s`)

  const conv4Ms = macsLatencyMs(CONV4)
  const base = { ...spaceOperators(), latencyMs: (archs: readonly Architecture[]) => archs.map(macsLatencyMs), params: (a: Architecture) => architectureParams(a) }
  const withPredictor: SearchFunctions = { ...base, accuracy: (archs) => predictor.predict(archs) }
  const withTruth: SearchFunctions = { ...base, accuracy: (archs) => archs.map(syntheticAccuracy) }
  const settings = { population: opts.population, generations: opts.generations, seed: opts.seed }

  const rows: BudgetRow[] = []
  for (const share of BUDGETS) {
    const constraints = { latencyMs: share * conv4Ms }
    const r = await evolutionSearch(withPredictor, constraints, { settings })
    const oracle = await evolutionSearch(withTruth, constraints, { settings })
    const wallS = secs(r.timings.totalMs)
    const checked = r.counts.evaluated + r.counts.infeasible + r.counts.unpredictable
    rows.push({
      budgetShare: share,
      latencyBudgetMs: constraints.latencyMs,
      wallS,
      evaluatedPerS: r.counts.evaluated / wallS,
      checkedPerS: checked / wallS,
      counts: r.counts,
      timings: r.timings,
      best: r.best && { id: r.best.id, predictedAccuracy: r.best.accuracy, trueAccuracy: syntheticAccuracy(r.best.architecture), latencyMs: r.best.latencyMs },
      frontSize: r.front.length,
      oracleBestAccuracy: oracle.best?.accuracy ?? null,
    })
  }

  console.log(`\nsearch: population ${opts.population}, ${opts.generations} generations, seed ${opts.seed}; Conv4's stand-in latency ${conv4Ms.toFixed(2)} ms`)
  const header = ['budget', 'wall s', 'evaluated', 'eval/s', 'checked/s', 'infeasible', 'repaired', 'latency s', 'accuracy s', 'front', 'best true acc', 'oracle acc', 'best ms']
  const table = rows.map((r) => [
    `${(r.budgetShare * 100).toFixed(0)}% (${r.latencyBudgetMs.toFixed(2)} ms)`,
    r.wallS.toFixed(2),
    String(r.counts.evaluated),
    Math.round(r.evaluatedPerS).toLocaleString('en'),
    Math.round(r.checkedPerS).toLocaleString('en'),
    String(r.counts.infeasible),
    String(r.counts.repaired),
    secs(r.timings.latencyMs).toFixed(2),
    secs(r.timings.accuracyMs).toFixed(2),
    String(r.frontSize),
    r.best ? r.best.trueAccuracy.toFixed(4) : 'none',
    r.oracleBestAccuracy === null ? 'none' : r.oracleBestAccuracy.toFixed(4),
    r.best ? r.best.latencyMs.toFixed(2) : '-',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)))
  for (const row of [header, ...table]) console.log('  ' + row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))

  const slowest = Math.max(...rows.map((r) => r.wallS))
  const targets: TargetRow[] = [atMost('search wall time (slowest budget)', slowest, TARGET_S, (v) => `${v.toFixed(2)} s`)]
  console.log('\n' + renderTargets(targets))
  const loadEnd = loadAverage()
  console.log(`load ${loadEnd.join(' ')} (1, 5, 15 min)`)
  if (opts.json)
    await writeFile(
      opts.json,
      JSON.stringify({ machine, load: { start: loadStart, end: loadEnd }, options: opts, predictor: { fitS, rankPerS, report: predictor.report }, conv4Ms, rows, targets }, null, 2),
    )
  process.exitCode = targets.every((t) => t.pass) ? 0 : 1
}

await main()
