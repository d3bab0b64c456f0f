/**
 * Gives start-up garbage back to the system once the daemon goes idle. Node runs no garbage
 * collection while idle, and V8's memory reducer only starts after a full collection: module
 * loading (tsx transforms, schemas) leaves ~30 MB of garbage that would otherwise stay resident
 * until enough new allocation happens. One full collection after start and after each job costs a
 * few ms. `gc` is exposed at run time the way jest-leak-detector does it, since the daemon is
 * started as `node bin/fleetnas-agent.js` without flags.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
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
  setTimeout(() => {
    const mb = (o: NodeJS.MemoryUsage) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v / 1e5) / 10]))
    if (process.env.HEAPDBG) process.stderr.write(`before ${JSON.stringify(mb(process.memoryUsage()))}\n`)
    if (!process.env.NOGC) fullGc()?.()
    if (process.env.HEAPDBG) process.stderr.write(`after ${JSON.stringify(mb(process.memoryUsage()))}\n`)
    if (process.env.HEAPDBG) for (const sp of getHeapSpaceStatistics()) process.stderr.write(`${sp.space_name} size ${(sp.space_size / 1e6).toFixed(1)} used ${(sp.space_used_size / 1e6).toFixed(1)} phys ${(sp.physical_space_size / 1e6).toFixed(1)}\n`)
  }, delayMs).unref()
}
