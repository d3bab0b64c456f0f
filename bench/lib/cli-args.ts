/** Option parsers the benchmarks share (commander argParsers: a clear message on a bad value). */
import { InvalidArgumentError } from 'commander'

export function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('a positive integer')
  return Number(v)
}

/** A comma-separated list of positive integers, e.g. "1,2". */
export const positiveInts = (v: string): number[] => v.split(',').map(positiveInt)
