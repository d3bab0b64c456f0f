/**
 * Reads temperature, CPU frequency and throttle flags where the hardware profile says they are.
 * Every reading is optional: a sensor that is missing or fails is left out, never an error.
 */
import { execFile, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { Static } from '@sinclair/typebox'
import type { EnvironmentSchema } from '@fleetnas/shared'
import type { HardwareProfile } from './profiles.ts'

export type Environment = Static<typeof EnvironmentSchema>
export type EnvironmentReader = () => Promise<Environment>

const execFileAsync = promisify(execFile)

async function readScaled(readings: { file: string; scale: number }[]): Promise<number | undefined> {
  for (const r of readings) {
    try {
      const n = Number((await readFile(r.file, 'utf8')).trim())
      if (Number.isFinite(n)) return round1(n * r.scale)
    } catch {
      // try the next source
    }
  }
  return undefined
}

const round1 = (n: number) => Math.round(n * 10) / 10

/** `throttled=0x50005`: bits 0-3 are the current state (under-voltage, capped, throttled, soft limit). */
export function parseThrottled(output: string): boolean | undefined {
  const m = /throttled=0x([0-9a-f]+)/i.exec(output)
  if (!m) return undefined
  return (parseInt(m[1], 16) & 0xf) !== 0
}

/** One tegrastats line: `... CPU [12%@1479,off,...] ... CPU@45.5C ...`. */
export function parseTegrastats(line: string): Environment {
  const env: Environment = {}
  const freq = /CPU \[[^\]]*?@(\d+)/.exec(line)
  if (freq) env.frequencyMHz = Number(freq[1])
  const temp = /\bCPU@(-?\d+(?:\.\d+)?)C/.exec(line)
  if (temp && Number(temp[1]) >= 0) env.temperatureC = Number(temp[1])
  return env
}

function firstTegrastatsLine(timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = ''
    const child = spawn('tegrastats', ['--interval', '100'], { stdio: ['ignore', 'pipe', 'ignore'] })
    const done = (v: string | undefined) => {
      clearTimeout(timer)
      child.kill()
      resolve(v)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    child.on('error', () => done(undefined))
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) done(buf.slice(0, nl))
    })
  })
}

export function environmentReader(profile: HardwareProfile): EnvironmentReader {
  const s = profile.sensors
  // A sensor that failed once is not retried: spawning a missing command per block costs time.
  let throttleWorks = s.throttleCommand !== undefined
  let tegrastatsWorks = s.tegrastats === true
  return async () => {
    const env: Environment = {}
    const t = await readScaled(s.temperature)
    if (t !== undefined && t >= 0 && t <= 200) env.temperatureC = t
    const f = await readScaled(s.frequency)
    if (f !== undefined && f >= 0) env.frequencyMHz = f
    if (throttleWorks && s.throttleCommand) {
      try {
        const [cmd, ...args] = s.throttleCommand
        const { stdout } = await execFileAsync(cmd, args, { timeout: 2000 })
        const throttled = parseThrottled(stdout)
        if (throttled !== undefined) env.throttled = throttled
      } catch {
        throttleWorks = false
      }
    }
    if (tegrastatsWorks && (env.temperatureC === undefined || env.frequencyMHz === undefined)) {
      const line = await firstTegrastatsLine()
      if (line === undefined) tegrastatsWorks = false
      else {
        const tg = parseTegrastats(line)
        env.temperatureC ??= tg.temperatureC
        env.frequencyMHz ??= tg.frequencyMHz
      }
    }
    return env
  }
}
