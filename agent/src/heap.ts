/**
 * Gives start-up garbage back to the system once the daemon goes idle. Node collects no garbage
 * while idle, and V8's memory reducer (which shrinks the heap of an idle isolate) starts only after
 * a full collection: without one, module loading leaves ~13 MB more resident until enough new
 * allocation happens. One full collection after connecting and after each job costs a few ms.
 * `gc` is exposed at run time (as jest-leak-detector does), since the daemon is started as
 * `node bin/fleetnas-agent.js` without flags.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let gc: (() => void) | null | undefined

function fullGc(): (() => void) | null {
  if (gc !== undefined) return gc
  try {
    if (typeof globalThis.gc === 'function') gc = globalThis.gc
    else {
      setFlagsFromString('--expose-gc')
      gc = runInNewContext('gc') as () => void
    }
  } catch {
    gc = null
  }
  return gc
}

/** Runs one full collection `delayMs` from now (the timer does not keep the process alive). */
export function compactHeapSoon(delayMs = 2000): void {
  setTimeout(() => fullGc()?.(), delayMs).unref()
}
