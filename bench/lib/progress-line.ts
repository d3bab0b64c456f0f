/**
 * A live progress line on stderr: rewritten in place on a terminal, one line every
 * `plainEveryMs` otherwise (a nohup log stays readable).
 */
export interface ProgressLine {
  update(text: string): void
  /** Ends the line (prints the last text on a terminal). */
  done(): void
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr, plainEveryMs = 30_000): ProgressLine {
  let last = ''
  let lastPrinted = ''
  let lastPlain = 0
  return {
    update(text) {
      last = text
      if (stream.isTTY) {
        stream.write(`\r${text.slice(0, Math.max(20, (stream.columns ?? 120) - 1)).padEnd(Math.min(text.length + 2, (stream.columns ?? 120) - 1))}`)
      } else if (Date.now() - lastPlain >= plainEveryMs) {
        lastPlain = Date.now()
        lastPrinted = text
        stream.write(`${text}\n`)
      }
    },
    done() {
      if (stream.isTTY && last) stream.write('\n')
      else if (last && last !== lastPrinted) stream.write(`${last}\n`)
      last = ''
    },
  }
}
