/**
 * Progress of long CLI jobs (meta-training, evaluation) on stderr, so stdout stays clean for
 * scripts. On a terminal: a live cli-progress bar with log lines printed above it. Elsewhere (a
 * pipe, a nohup log): one plain line at most every `everyMs`, plus the log lines, so a log file
 * stays readable and `tail -f` still shows the run moving.
 */
import cliProgress from 'cli-progress'

export interface ProgressOptions {
  total: number
  /** Value already reached (a resumed run starts part-way). */
  start?: number
  /** cli-progress format; payload fields are used by name, e.g. `{loss}`. */
  format: string
  /** Payload shown before the first update (every `{field}` the format names). */
  initial?: Record<string, string>
  /** Plain-line form for non-terminals, from the same payload. */
  line: (value: number, total: number, payload: Record<string, string>, etaSeconds: number | undefined) => string
  /** Non-terminal line interval; default 10 s. */
  everyMs?: number
  stream?: NodeJS.WriteStream
  /** Force terminal (true) or plain (false) output; default: whether `stream` is a TTY. */
  tty?: boolean
}

export interface Progress {
  update(value: number, payload: Record<string, string>): void
  /** A line above the bar (terminal) or in the log (plain). */
  log(line: string): void
  stop(): void
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr
  const tty = opts.tty ?? stream.isTTY === true
  const start = opts.start ?? 0
  if (tty) {
    const multi = new cliProgress.MultiBar(
      { format: opts.format, hideCursor: true, stream, clearOnComplete: false, etaBuffer: 50, etaAsynchronousUpdate: true },
      cliProgress.Presets.shades_classic,
    )
    const bar = multi.create(Math.max(1, opts.total), start, opts.initial ?? {})
    return {
      update: (value, payload) => bar.update(value, payload),
      log: (line) => multi.log(`${line}\n`),
      stop: () => multi.stop(),
    }
  }
  const every = opts.everyMs ?? 10_000
  const startedAt = performance.now()
  let lastAt = -Infinity
  let writtenValue = -1
  let last: { value: number; payload: Record<string, string> } | undefined
  const write = (s: string) => stream.write(`${s}\n`)
  const eta = (value: number) => {
    const done = value - start
    if (done <= 0) return undefined
    return (((performance.now() - startedAt) / done) * (opts.total - value)) / 1000
  }
  return {
    update(value, payload) {
      last = { value, payload }
      const now = performance.now()
      if (now - lastAt >= every || value >= opts.total) {
        lastAt = now
        writtenValue = value
        write(opts.line(value, opts.total, payload, eta(value)))
      }
    },
    log: write,
    stop() {
      // Make sure the final state is in the log even if the last update fell between lines.
      if (last && last.value !== writtenValue) write(opts.line(last.value, opts.total, last.payload, eta(last.value)))
    },
  }
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
