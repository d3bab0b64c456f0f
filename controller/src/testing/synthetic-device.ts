/**
 * A deterministic device for tests of the latency model and of architecture requests, answered by
 * the test agent: each block takes a fixed time derived from its key, and a whole architecture runs
 * each block a little faster than alone (what the latency model has to learn), plus one call's
 * overhead that the agent reports apart.
 */
import { architectureBlocks, blockKey, parseArchitectureId, type BlockSpec } from '@fleetnas/shared'

export interface SyntheticDeviceOptions {
  /** One call's overhead (the empty graph), reported as overheadMs. */
  callMs: number
  /** A block takes minBlockMs plus up to 1000 steps of stepMs, by a hash of its key. */
  minBlockMs: number
  stepMs: number
  /** How much of its time alone a block takes inside a whole architecture. */
  inGraph: (b: BlockSpec) => number
}

export interface SyntheticDevice {
  callMs: number
  blockMs(key: string): number
  /** Net latency of a block key or an architecture id (what the test agent reports as medianMs). */
  latencyMs(key: string): number
}

export function syntheticDevice(o: SyntheticDeviceOptions): SyntheticDevice {
  const blockMs = (key: string) => {
    let h = 0
    for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0
    return o.minBlockMs + (h % 1000) * o.stepMs
  }
  const latencyMs = (key: string) =>
    key.startsWith('g') ? architectureBlocks(parseArchitectureId(key)).reduce((s, b) => s + o.inGraph(b) * blockMs(blockKey(b)), 0) : blockMs(key)
  return { callMs: o.callMs, blockMs, latencyMs }
}
