/**
 * The `fleetnas` CLI. Commands are plain async functions in ./commands; this file only parses
 * arguments, loads a command's module when it runs (so `--help` stays instant), prints, and maps
 * thrown errors to exit codes (./exit-codes.ts).
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { ApiClient } from './api-client.ts'
import { EXIT, exitCodeFor, messageFor } from './exit-codes.ts'

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
    campaign
      .command('create')
      .description('create a campaign; prints its id (with --watch, follows it to the end)')
      .requiredOption('--name <name>', 'campaign name')
      .option('--blocks-file <file>', 'JSON file with an array of BlockSpec')
      .option('--search-space <name>', 'profile a search space ("default")')
      .option('--sample <n>', 'a seeded random sample of N block keys of the space', int('--sample'))
      .option('--device <id>', 'target device (repeatable)', collect(String))
      .option('--profile <name>', 'target hardware profile (repeatable)', collect(String))
      .option('--runtime <name>', 'onnxruntime or tfjs (repeatable)', collect(String))
      .option('--threads <n>', 'thread count (repeatable)', collect(int('--threads')))
      .option('--warmup-runs <n>', 'warm-up runs per block', int('--warmup-runs'))
      .option('--min-runs <n>', 'minimum timed runs per block', int('--min-runs'))
      .option('--min-time-ms <ms>', 'minimum timed duration per block', num('--min-time-ms'))
      .option('--max-cv <cv>', 'CV above which a block is re-measured (0.05 = 5%)', num('--max-cv'))
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

  program
    .command('demo')
    .description('controller + one local agent on free ports, a small campaign on this machine, a LUT summary')
    .option('--blocks <n>', 'blocks to profile', int('--blocks'), 24)
    .option('--threads <n>', 'threads', int('--threads'), 1)
    .option('--port <port>', 'HTTP port (0 = any free)', int('--port'), 0)
    .option('--data-dir <dir>', 'keep the data here instead of a temporary folder')
    .option('--seed <n>', 'sample seed', int('--seed'), 1)
    .option('--exit', 'exit after the summary instead of serving until Ctrl-C', false)
    .action(async (o) => {
      const { runDemo } = await import('./commands/demo.ts')
      await runDemo({ ...o, httpPort: o.port, log: (l: string) => process.stderr.write(`${l}\n`) })
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
