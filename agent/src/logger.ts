/** pino to stderr (stdout stays free for command output). */
import pino from 'pino'
import type { LogLevel } from './config.ts'

export type Logger = pino.Logger

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ name: 'fleetnas-agent', level }, pino.destination(2))
}
