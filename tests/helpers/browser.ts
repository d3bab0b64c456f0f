/**
 * Headless Chromium for dashboard tests and benchmarks: Debian's `chromium` (`.ci/run` installs
 * it) driven by playwright-core, which downloads no browser of its own.
 *
 *   const exe = findChromium()             // undefined: skip, and say why
 *   const browser = await launchChromium(exe)
 *   const watch = watchConsole(page)       // console errors and uncaught exceptions, for asserting none
 */
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']

/** FLEETNAS_CHROMIUM, else the first Chromium on PATH (or /usr/bin). */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.FLEETNAS_CHROMIUM) return existsSync(env.FLEETNAS_CHROMIUM) ? env.FLEETNAS_CHROMIUM : undefined
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin']
  for (const name of CANDIDATES) for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name)
  return undefined
}

export const NO_CHROMIUM = 'no Chromium found (apt-get install chromium, or set FLEETNAS_CHROMIUM); .ci/run installs it'

/**
 * The flags keep Chromium off the network it cannot reach here (background updates, sync, QUIC)
 * and run it as root in a container (no sandbox).
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  })
}

export interface ConsoleWatch {
  /** Console errors and uncaught exceptions so far, with the page URL they came from. */
  errors: string[]
}

export function watchConsole(page: Page, into: ConsoleWatch = { errors: [] }): ConsoleWatch {
  page.on('console', (m) => {
    if (m.type() === 'error') into.errors.push(`${page.url()}: console.error: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`)
  })
  page.on('pageerror', (e) => into.errors.push(`${page.url()}: uncaught: ${e.message}`))
  return into
}
