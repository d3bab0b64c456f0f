/**
 * The `fleetnas` CLI. Commands are plain async functions in ./commands; this file only parses
 * arguments, loads a command's module when it runs (so `--help` stays instant), prints, and maps
 * thrown errors to exit codes (the one map, shared/src/exit-codes.ts).
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { ApiClient } from './api-client.ts'
import { EXIT, exitCodeFor, messageFor } from '@fleetnas/shared'

const int = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number, got ${JSON.stringify(v)}`)
  return n
}
const num = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got ${JSON.stringify(v)}`)
  return n
}
const collect = <T>(parse: (v: string) => T) => (v: string, prev: T[] = []) => [...prev, parse(v)]

const apiOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--api <url>', 'controller API address').env('FLEETNAS_API').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <token>', 'API token').env('FLEETNAS_API_TOKEN'))

/** Measurement settings of the campaigns a command creates (`about` says which, in the help). */
const measureOptions = (cmd: Command, about = '') =>
  cmd
    .option('--warmup-runs <n>', `warm-up runs per block${about ? ` ${about}` : ''}`, int('--warmup-runs'))
    .option('--min-runs <n>', 'minimum timed runs per block', int('--min-runs'))
    .option('--min-time-ms <ms>', 'minimum timed duration per block', num('--min-time-ms'))
    .option('--max-cv <cv>', 'CV above which a block is re-measured (0.05 = 5%)', num('--max-cv'))
    .option('--passes <n>', 'time each block in this many windows half a minute or more apart, pooled (steadier medians, honest intervals; default 1)', int('--passes'))

const client = (o: { api?: string; token?: string }) => new ApiClient({ api: o.api, token: o.token })
const print = (s: string) => process.stdout.write(`${s}\n`)

export function buildProgram(): Command {
  const program = new Command('fleetnas')
    .description('Hardware-aware few-shot NAS for device fleets')
    .showHelpAfterError()
    .exitOverride()

  const controller = program.command('controller').description('the fleetnas controller')
  controller
    .command('start')
    .description('start the controller: HTTP API, MQTT ingest (embedded broker unless --broker), campaigns, LUTs')
    .addOption(new Option('--data-dir <dir>', 'where the SQLite store lives').env('FLEETNAS_DATA_DIR').default('./data'))
    .addOption(new Option('--host <host>', 'HTTP and embedded-broker bind address').env('FLEETNAS_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'HTTP port (0 = any free)').env('FLEETNAS_PORT').argParser(int('--port')).default(8080))
    .addOption(new Option('--mqtt-port <port>', 'embedded broker port (0 = any free)').env('FLEETNAS_MQTT_PORT').argParser(int('--mqtt-port')).default(1883))
    .addOption(new Option('--broker <url>', 'use an external broker, e.g. mqtt://host:1883').env('FLEETNAS_BROKER'))
    .addOption(new Option('--broker-username <name>').env('FLEETNAS_BROKER_USERNAME'))
    .addOption(new Option('--broker-password <password>').env('FLEETNAS_BROKER_PASSWORD'))
    .addOption(new Option('--api-token <token>', 'require this bearer token on /v1').env('FLEETNAS_API_TOKEN'))
    .option('--insecure', 'no API token and no broker authentication (local demos only)', false)
    .addOption(new Option('--log-level <level>').choices(['trace', 'debug', 'info', 'warn', 'error']).env('FLEETNAS_LOG_LEVEL').default('info'))
    .addOption(new Option('--supernet <file>', 'a meta-trained supernet checkpoint: architecture requests need one').env('FLEETNAS_SUPERNET'))
    .addOption(new Option('--ingest-group <name>', 'share result ingest with other controller processes ($share/<name>/..., needs --broker with MQTT 5)').env('FLEETNAS_INGEST_GROUP'))
    .option('--no-scheduling', 'ingest only: leave campaigns to the one process of the ingest group that schedules')
    .addOption(new Option('--mqtt-client-id <id>', 'MQTT client id (default fleetnas-controller; an ingest-only process gets one per host and pid)').env('FLEETNAS_MQTT_CLIENT_ID'))
    .action(async (o) => {
      const { startControllerCommand } = await import('./commands/controller-start.ts')
      await startControllerCommand(o)
    })

  const agent = program.command('agent').description('the fleetnas device agent')
  agent
    .command('start')
    .description('start the agent on this device (same as fleetnas-agent)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { runAgentCli } = await import('./commands/agent-start.ts')
      await runAgentCli(args)
    })

  const campaign = program.command('campaign').description('profiling campaigns across the fleet')
  apiOptions(
    measureOptions(campaign.command('create'))
      .description('create a campaign; prints its id (with --watch, follows it to the end)')
      .requiredOption('--name <name>', 'campaign name')
      .option('--blocks-file <file>', 'JSON file with an array of BlockSpec')
      .option('--search-space <name>', 'profile a search space ("default")')
      .option('--sample <n>', 'a seeded random sample of N block keys of the space', int('--sample'))
      .option('--architectures <file>', 'architecture ids to measure whole: a JSON array or one id per line')
      .option('--calibration <n>', "a seeded set of N architectures (random, compact and uniform networks) measured whole (the latency model's calibration set)", int('--calibration'))
      .option('--calibration-seed <n>', 'seed of the calibration set', int('--calibration-seed'))
      .option('--no-architecture-blocks', 'do not also measure the blocks of those architectures')
      .option('--device <id>', 'target device (repeatable)', collect(String))
      .option('--profile <name>', 'target hardware profile (repeatable)', collect(String))
      .option('--runtime <name>', 'onnxruntime or tfjs (repeatable)', collect(String))
      .option('--threads <n>', 'thread count (repeatable)', collect(int('--threads')))
      .option('--timeout-ms <ms>', 'per-execution timeout without progress', int('--timeout-ms'))
      .option('--retries <n>', 'retries per execution', int('--retries'))
      .option('--watch', 'follow the campaign with a progress bar'),
  ).action(async (o) => {
    const { createCampaign, watchCampaign, describeCampaign } = await import('./commands/campaign.ts')
    const api = client(o)
    const id = await createCampaign(api, o)
    print(id)
    if (o.watch) {
      const view = await watchCampaign(api, id)
      print(describeCampaign(view))
      if (view.state !== 'SUCCEEDED') process.exitCode = EXIT.failure
    }
  })
  apiOptions(campaign.command('list').description('list campaigns')).action(async (o) => {
    const { listCampaigns } = await import('./commands/campaign.ts')
    print(await listCampaigns(client(o)))
  })
  apiOptions(campaign.command('show').description('show a campaign and its executions').argument('<id>')).action(async (id, o) => {
    const { showCampaign } = await import('./commands/campaign.ts')
    print(await showCampaign(client(o), id))
  })
  apiOptions(campaign.command('watch').description('follow a campaign with a live progress bar').argument('<id>')).action(async (id, o) => {
    const { watchCampaign, describeCampaign } = await import('./commands/campaign.ts')
    const view = await watchCampaign(client(o), id)
    print(describeCampaign(view))
    if (view.state !== 'SUCCEEDED') process.exitCode = EXIT.failure
  })
  apiOptions(campaign.command('cancel').description('cancel a campaign').argument('<id>')).action(async (id, o) => {
    const { cancelCampaign } = await import('./commands/campaign.ts')
    print(await cancelCampaign(client(o), id))
  })

  const lut = program.command('lut').description('latency lookup tables')
  apiOptions(lut.command('list').description('list LUTs (hardware profile, runtime, threads)')).action(async (o) => {
    const { listLuts } = await import('./commands/lut.ts')
    print(await listLuts(client(o)))
  })
  const selector = (cmd: Command) =>
    apiOptions(
      cmd
        .argument('<hardwareProfile>')
        .option('--runtime <name>', 'runtime', 'onnxruntime')
        .option('--threads <n>', 'threads', int('--threads'), 1),
    )
  selector(lut.command('show').description('print a LUT').option('--limit <n>', 'rows to print', int('--limit'))).action(async (hardwareProfile, o) => {
    const { showLut } = await import('./commands/lut.ts')
    print(await showLut(client(o), { hardwareProfile, runtime: o.runtime, threads: o.threads }, { limit: o.limit }))
  })
  selector(
    lut
      .command('export')
      .description('export a LUT as CSV or JSON')
      .addOption(new Option('--format <format>').choices(['csv', 'json']).default('csv'))
      .option('--out <file>', 'write to a file instead of stdout'),
  ).action(async (hardwareProfile, o) => {
    const { exportLut } = await import('./commands/lut.ts')
    print(await exportLut(client(o), { hardwareProfile, runtime: o.runtime, threads: o.threads, format: o.format, out: o.out }))
  })

  const latency = program.command('latency').description("a LUT's latency model: fit report and end-to-end predictions")
  const modelSelector = (cmd: Command) =>
    apiOptions(
      cmd
        .requiredOption('--profile <name>', 'hardware profile of the LUT')
        .option('--runtime <name>', 'runtime', 'onnxruntime')
        .option('--threads <n>', 'threads', int('--threads'), 1)
        .option('--json', 'print the API reply as JSON', false),
    )
  modelSelector(latency.command('model').description('the fit report of a LUT\'s latency model (refitted when the LUT changed)')).action(async (o) => {
    const { fetchModel, describeModel } = await import('./commands/latency.ts')
    const m = await fetchModel(client(o), { hardwareProfile: o.profile, runtime: o.runtime, threads: o.threads })
    print(o.json ? JSON.stringify(m, null, 2) : describeModel(m))
  })
  modelSelector(
    latency.command('predict').description('predicted end-to-end latency of architectures on a LUT').argument('<architecture...>', 'architecture ids, e.g. g1_conv-k3-w64-mp_conv-k3-w64-mp'),
  ).action(async (ids: string[], o) => {
    const { predictLatency, describePredictions } = await import('./commands/latency.ts')
    const predictions = await predictLatency(client(o), { hardwareProfile: o.profile, runtime: o.runtime, threads: o.threads }, ids)
    print(o.json ? JSON.stringify(predictions, null, 2) : describePredictions(predictions))
    // Never a silent guess: an architecture the LUT cannot predict fails the command.
    if (predictions.some((p) => p.predictedMs === null)) process.exitCode = EXIT.failure
  })

  const arch = program.command('arch').description('architecture requests: the most accurate few-shot model within a latency budget on a device class')
  apiOptions(
    measureOptions(arch.command('request'), 'of the campaigns the request creates (missing blocks, verification)')
      .description('request an architecture; prints its id (with --watch, follows it and prints the answer)')
      .option('--profile <name>', 'hardware profile (device class) to search for')
      .option('--device <id>', 'or one device: its class, and its threads by default')
      .option('--runtime <name>', 'runtime of the LUT', 'onnxruntime')
      .option('--threads <n>', 'threads of the LUT', int('--threads'))
      .requiredOption('--latency-ms <ms>', 'latency budget of one call, in ms', num('--latency-ms'))
      .option('--max-params <n>', 'parameter budget', int('--max-params'))
      .option('--latency-confidence <q>', 'how sure the answer must be to run within the budget: the search bounds the prediction by this quantile of the latency model\'s held-out errors (0.5-0.99, default 0.9)', num('--latency-confidence'))
      .option('--way <n>', 'classes per few-shot task', int('--way'), 5)
      .option('--shot <n>', 'examples per class', int('--shot'), 1)
      .option('--population <n>', 'search population', int('--population'))
      .option('--generations <n>', 'search generations', int('--generations'))
      .option('--seed <n>', 'search seed', int('--seed'))
      .option('--confirm <n>', 'candidates whose accuracy is confirmed by real evaluation', int('--confirm'))
      .option('--confirm-tasks <n>', 'few-shot tasks per confirmation (default 100)', int('--confirm-tasks'))
      .option('--finetune <iterations>', 'meta-train the answer alone for N iterations from its inherited weights (the model carries the result)', int('--finetune'))

      .option('--verify', 'measure the answer whole on an online device of the class', false)
      .option('--watch', 'follow the request to its end'),
  ).action(async (o) => {
    const { requestArchitecture, watchRequest, describeRequest } = await import('./commands/arch.ts')
    const api = client(o)
    const id = await requestArchitecture(api, o)
    print(id)
    if (o.watch) {
      const r = await watchRequest(api, id, { onProgress: (l) => process.stderr.write(`${l}\n`) })
      print(describeRequest(r))
      if (r.state !== 'SUCCEEDED') process.exitCode = EXIT.failure
    }
  })
  apiOptions(arch.command('list').description('list architecture requests')).action(async (o) => {
    const { listRequests } = await import('./commands/arch.ts')
    print(await listRequests(client(o)))
  })
  apiOptions(arch.command('show').description('show a request: state, answer, Pareto front').argument('<id>').option('--json', 'the API reply as JSON', false)).action(
    async (id, o) => {
      const { fetchRequest, describeRequest } = await import('./commands/arch.ts')
      const r = await fetchRequest(client(o), id)
      print(o.json ? JSON.stringify(r, null, 2) : describeRequest(r))
    },
  )
  apiOptions(arch.command('cancel').description('cancel a queued or running request').argument('<id>')).action(async (id, o) => {
    const { cancelRequest } = await import('./commands/arch.ts')
    print(await cancelRequest(client(o), id))
  })
  apiOptions(
    arch
      .command('export')
      .description('download the answer: an ONNX model, or with --checkpoint a checkpoint for fleetnas adapt')
      .argument('<id>')
      .requiredOption('--out <file>', 'where to write it')
      .option('--checkpoint', 'a MAML checkpoint (for fleetnas adapt / meta-eval) instead of ONNX', false),
  ).action(async (id, o) => {
    const { exportArchitecture } = await import('./commands/arch.ts')
    print(await exportArchitecture(client(o), id, { out: o.out, checkpoint: o.checkpoint }))
  })

  program
    .command('demo')
    .description('controller + one local agent on free ports, a small campaign on this machine, a LUT summary, predicted vs measured latency')
    .option('--blocks <n>', 'blocks of the default space to profile', int('--blocks'), 24)
    .option('--calibration <n>', 'architectures measured whole to fit the latency model', int('--calibration'), 40)
    .option('--threads <n>', 'threads', int('--threads'), 1)
    .option('--port <port>', 'HTTP port (0 = any free)', int('--port'), 0)
    .option('--data-dir <dir>', 'keep the data here instead of a temporary folder')
    .option('--seed <n>', 'sample seed', int('--seed'), 1)
    .option('--exit', 'exit after the summary instead of serving until Ctrl-C', false)
    .action(async (o) => {
      const { runDemo } = await import('./commands/demo.ts')
      await runDemo({ ...o, httpPort: o.port, log: (l: string) => process.stderr.write(`${l}\n`) })
    })

  // Meta-learning on this machine: meta-train, meta-eval, adapt (./commands/meta-*.ts, ./commands/adapt.ts).
  const invertMode = (v: string) => {
    if (v === 'auto') return 'auto' as const
    if (v === 'true' || v === 'false') return v === 'true'
    throw new InvalidArgumentError(`--invert must be auto, true or false, got ${JSON.stringify(v)}`)
  }
  const log = (l: string) => process.stderr.write(`${l}\n`)
  /** Ctrl-C / SIGTERM abort the work (it stops cleanly, e.g. after writing a checkpoint). */
  const withInterrupt = async <T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const ac = new AbortController()
    const stop = () => ac.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      return await run(ac.signal)
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }
  program
    .command('meta-train')
    .description('meta-train an architecture (Conv4 by default) with first-order MAML; progress on stderr, checkpoint at --out')
    .option('--dataset <kind>', 'glyphs (built in), omniglot or folder')
    .option('--data <path>', 'omniglot / folder dataset: a folder or a .zip')
    .option('--arch <id>', 'canonical architecture id, e.g. g0.5_conv-k3-w32-mp_conv-k3-w32-mp (default: Conv4)')
    .option('--way <n>', 'classes per task (default 5)', int('--way'))
    .option('--shot <n>', 'support images per class (default 1)', int('--shot'))
    .option('--query <n>', 'query images per class (default 15)', int('--query'))
    .option('--iterations <n>', 'total meta-iterations of the run (a resumed run continues up to it)', int('--iterations'))
    .option('--inner-steps <n>', 'inner-loop SGD steps (default 5)', int('--inner-steps'))
    .option('--eval-steps <n>', 'inner-loop steps of validation, kept in the checkpoint as meta-eval\'s and adapt\'s default (default: --inner-steps)', int('--eval-steps'))
    .option('--inner-lr <lr>', 'inner-loop learning rate (default 0.4)', num('--inner-lr'))
    .option('--meta-batch <n>', 'tasks per meta-iteration (default 4)', int('--meta-batch'))
    .option('--outer-lr <lr>', 'Adam learning rate of the meta-update (default 0.001)', num('--outer-lr'))
    .option('--seed <n>', 'seed of initialisation and task sampling (default 1)', int('--seed'))
    .option('--zero-head', 'start every task from a zero classifier head (the zeroing trick; kept in the checkpoint)')
    .option('--threads <n>', 'ONNX Runtime threads', int('--threads'), 1)
    .requiredOption('--out <file>', 'checkpoint file (written every --checkpoint-every iterations and at the end)')
    .option('--resume', 'continue the run stored at --out')
    .option('--force', 'replace an existing checkpoint at --out')
    .option('--init <checkpoint>', 'new run starting from this checkpoint\'s parameters (warm start; task shape and outer loop may change)')
    .option('--checkpoint-every <n>', 'iterations between checkpoints (default 100)', int('--checkpoint-every'))
    .option('--val-every <n>', 'validate on the val split every N iterations and at the end (default 0 = never)', int('--val-every'))
    .option('--val-tasks <n>', 'tasks per validation (default 100)', int('--val-tasks'))
    .option('--val-way <n>', 'ways of the validation tasks (default: --way; useful with --zero-head trained at more ways)', int('--val-way'))
    .option('--size <px>', 'square image side (default 28)', int('--size'))
    .option('--channels <n>', 'folder dataset: 1 (grey, default) or 3 (RGB)', int('--channels'))
    .option('--invert <mode>', 'folder dataset: auto, true or false (ink = 1 for dark-on-light scans)', invertMode)
    .option('--json', 'print the summary as JSON')
    .action(async (o) => {
      const { metaTrainCommand, describeMetaTrain } = await import('./commands/meta-train.ts')
      const s = await withInterrupt((signal) => metaTrainCommand(o, { log, signal }))
      print(o.json ? JSON.stringify(s) : describeMetaTrain(s))
      if (s.interrupted) process.exitCode = EXIT.interrupted
    })
  program
    .command('meta-eval')
    .description('few-shot accuracy of a checkpoint: mean over sampled tasks with its 95% confidence interval')
    .requiredOption('--checkpoint <file>', 'checkpoint written by meta-train')
    .option('--dataset <kind>', 'glyphs, omniglot or folder (default: what the checkpoint was trained on)')
    .option('--data <path>', 'omniglot / folder dataset: a folder or a .zip')
    .option('--way <n>', 'classes per task (default: the checkpoint\'s)', int('--way'))
    .option('--shot <n>', 'support images per class (default: the checkpoint\'s)', int('--shot'))
    .option('--query <n>', 'query images per class (default: the checkpoint\'s)', int('--query'))
    .option('--tasks <n>', 'tasks to average over', int('--tasks'), 600)
    .option('--split <split>', 'val or test (default: test if the dataset has one, else val)')
    .option('--steps <k>', 'inner-loop steps (default: the steps the checkpoint was validated with, --eval-steps of meta-train)', int('--steps'))
    .option('--inner-lr <lr>', 'inner-loop learning rate (default: the checkpoint\'s; a zero-head one at another way scales it by --way / its way)', num('--inner-lr'))
    .option('--seed <n>', 'task sampling seed', int('--seed'), 0)
    .option('--threads <n>', 'ONNX Runtime threads', int('--threads'), 1)
    .option('--invert <mode>', 'folder dataset: auto, true or false', invertMode)
    .option('--json', 'print the result as JSON')
    .action(async (o) => {
      const { metaEvalCommand, describeMetaEval } = await import('./commands/meta-eval.ts')
      const r = await metaEvalCommand(o, { log })
      print(o.json ? JSON.stringify(r) : describeMetaEval(r))
    })
  program
    .command('adapt')
    .description('adapt a meta-trained model to your support images (one subfolder per class) and label the query images')
    .requiredOption('--checkpoint <file>', 'checkpoint written by meta-train')
    .requiredOption('--support <dir>', 'folder with one subfolder of images per class (subfolder name = label)')
    .requiredOption('--query <dir>', 'folder of images to classify')
    .option('--steps <k>', 'inner-loop steps (default: the steps the checkpoint was validated with, --eval-steps of meta-train)', int('--steps'))
    .option('--lr <lr>', 'inner-loop learning rate (default: the checkpoint\'s; a zero-head one at another way scales it by classes / its way)', num('--lr'))
    .option('--invert <mode>', 'auto, true or false: make ink = 1 (default: auto for glyph/Omniglot checkpoints)', invertMode)
    .addOption(new Option('--fit <fit>', 'how to fit other aspect ratios').choices(['fill', 'cover', 'contain']))
    .option('--threads <n>', 'ONNX Runtime threads', int('--threads'), 1)
    .option('--json', 'JSON lines: {file, label, probability}')
    .action(async (o) => {
      const { adaptCommand, describeAdapt } = await import('./commands/adapt.ts')
      const r = await adaptCommand(o, { log })
      print(o.json ? r.predictions.map((p) => JSON.stringify(p)).join('\n') : describeAdapt(r))
    })

  // The supernet over the default search space (./commands/supernet-*.ts).
  const supernet = program.command('supernet').description('a supernet over the default search space: meta-train it, evaluate its sub-networks')
  supernet
    .command('train')
    .description('meta-train a supernet (first-order MAML, zero head, sandwich rule); progress on stderr, checkpoint at --out')
    .option('--dataset <kind>', 'glyphs (built in), omniglot or folder')
    .option('--data <path>', 'omniglot / folder dataset: a folder or a .zip')
    .option('--way <n>', 'classes per task (default 5)', int('--way'))
    .option('--shot <n>', 'support images per class (default 1)', int('--shot'))
    .option('--query <n>', 'query images per class (default 15)', int('--query'))
    .option('--iterations <n>', 'total meta-iterations of the run (a resumed run continues up to it)', int('--iterations'))
    .option('--inner-steps <n>', 'inner-loop SGD steps (default 5)', int('--inner-steps'))
    .option('--inner-lr <lr>', 'inner-loop learning rate (default 0.4)', num('--inner-lr'))
    .option('--meta-batch <n>', 'tasks (sub-networks) per meta-iteration: the largest, the smallest, the rest random (default 4)', int('--meta-batch'))
    .option('--outer-lr <lr>', 'Adam learning rate on the shared weights (default 0.001)', num('--outer-lr'))
    .option('--seed <n>', 'seed of initialisation, sub-network draws and task sampling (default 1)', int('--seed'))
    .option('--compute-cap <x>', "training sub-networks' MACs and activations at most this many times Conv4's; 0 = no cap (default 1.5)", num('--compute-cap'))
    .option('--random-reuse <n>', 'iterations each random sub-network is kept for (default 10)', int('--random-reuse'))
    .option('--near-uniform <share>', 'share (0-1) of random sub-networks drawn a mutation from a uniform network, where searches look (default 0)', num('--near-uniform'))
    .option('--threads <n>', 'threads (above 1: tasks in worker threads)', int('--threads'), 1)
    .requiredOption('--out <file>', 'checkpoint file (written every --checkpoint-every iterations and at the end)')
    .option('--resume [file]', 'continue a run: the one at --out, or the one in <file> (written to --out)')
    .option('--force', 'replace an existing checkpoint at --out')
    .option('--checkpoint-every <n>', 'iterations between checkpoints (default 100)', int('--checkpoint-every'))
    .option('--val-every <n>', "validate the sandwich's ends on the val split every N iterations and at the end (default 0 = never)", int('--val-every'))
    .option('--val-tasks <n>', 'tasks per validated sub-network (default 100)', int('--val-tasks'))
    .option('--val-way <n>', 'ways of the validation tasks (default: --way)', int('--val-way'))
    .option('--size <px>', 'square image side (default 28)', int('--size'))
    .option('--channels <n>', 'folder dataset: 1 (grey, default) or 3 (RGB)', int('--channels'))
    .option('--invert <mode>', 'folder dataset: auto, true or false (ink = 1 for dark-on-light scans)', invertMode)
    .option('--json', 'print the summary as JSON')
    .action(async (o) => {
      const { supernetTrainCommand, describeSupernetTrain } = await import('./commands/supernet-train.ts')
      const s = await withInterrupt((signal) => supernetTrainCommand(o, { log, signal }))
      print(o.json ? JSON.stringify(s) : describeSupernetTrain(s))
      if (s.interrupted) process.exitCode = EXIT.interrupted
    })
  supernet
    .command('eval')
    .description('few-shot accuracy of one sub-network with inherited weights: mean over sampled tasks with its 95% confidence interval')
    .requiredOption('--checkpoint <file>', 'checkpoint written by supernet train')
    .requiredOption('--arch <id>', 'architecture id of the space, or largest / smallest (largest:dwsep, ...: the sandwich ends)')
    .option('--dataset <kind>', 'glyphs, omniglot or folder (default: what the supernet was trained on)')
    .option('--data <path>', 'omniglot / folder dataset: a folder or a .zip')
    .option('--way <n>', 'classes per task (default: the training way)', int('--way'))
    .option('--shot <n>', 'support images per class (default: the training shot)', int('--shot'))
    .option('--query <n>', 'query images per class (default: the training query)', int('--query'))
    .option('--tasks <n>', 'tasks to average over', int('--tasks'), 600)
    .option('--split <split>', 'val or test (default: test if the dataset has one, else val)')
    .option('--steps <k>', 'inner-loop steps (default: the training steps)', int('--steps'))
    .option('--inner-lr <lr>', 'inner-loop learning rate (default: the training rate scaled by --way / training way)', num('--inner-lr'))
    .option('--seed <n>', 'task sampling seed', int('--seed'), 0)
    .option('--threads <n>', 'threads (above 1: tasks in worker threads)', int('--threads'), 1)
    .option('--invert <mode>', 'folder dataset: auto, true or false', invertMode)
    .option('--json', 'print the result as JSON')
    .action(async (o) => {
      const { supernetEvalCommand, describeSupernetEval } = await import('./commands/supernet-eval.ts')
      const r = await supernetEvalCommand(o, { log })
      print(o.json ? JSON.stringify(r) : describeSupernetEval(r))
    })

  return program
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.ok
    if (code?.startsWith('commander.')) return EXIT.usage // commander already printed the problem
    process.stderr.write(`${messageFor(e)}\n`)
    return exitCodeFor(e)
  }
}
