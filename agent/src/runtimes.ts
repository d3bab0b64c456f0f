/**
 * What the agent can run, for its InfoMessage and for rejecting jobs it cannot run, without loading
 * any runtime into the daemon: versions come from package.json files, execution providers from a
 * short-lived worker probe at start (worker/worker-process.ts `probeInWorker`). tfjs is described
 * without loading it (loading costs seconds): the backend it will pick is the first of tfjs-node,
 * wasm, cpu whose package resolves.
 */
import { createRequire } from 'node:module'
import type { JobMessage, RuntimeInfo } from '@fleetnas/shared'
import { RuntimeUnavailable } from './errors.ts'

const require = createRequire(import.meta.url)

function resolves(name: string): boolean {
  try {
    require.resolve(name)
    return true
  } catch {
    return false
  }
}

/** A package's version from its package.json (never loads the package itself). */
export function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

/** tfjs as the worker will load it (tfjs-runner.ts), or undefined when it is not installed (a bundle built without it). */
export function tfjsInfo(): RuntimeInfo | undefined {
  if (resolves('@tensorflow/tfjs-node')) return { name: 'tfjs', version: packageVersion('@tensorflow/tfjs-node'), backends: ['tensorflow'] }
  if (!resolves('@tensorflow/tfjs-core') || !resolves('@tensorflow/tfjs-backend-cpu')) return undefined
  const backend = resolves('@tensorflow/tfjs-backend-wasm') ? 'wasm' : 'cpu'
  return { name: 'tfjs', version: packageVersion('@tensorflow/tfjs-core'), backends: [backend] }
}

/**
 * What the daemon reports when the worker probe failed: installed packages, ONNX Runtime assumed to
 * have its always-bundled CPU execution provider.
 */
export function fallbackRuntimeInfos(): RuntimeInfo[] {
  const out: RuntimeInfo[] = []
  if (resolves('onnxruntime-node')) out.push({ name: 'onnxruntime', version: packageVersion('onnxruntime-node'), backends: ['cpu'] })
  const tf = tfjsInfo()
  if (tf) out.push(tf)
  return out
}

/** Backends of tfjs that run one thread in Node (tfjs-node sizes its own pool). */
const SINGLE_THREAD_TFJS_BACKENDS = new Set(['wasm', 'cpu'])

/** Why this device cannot run `job`'s runtime at its thread count, or undefined. */
export function runtimeProblem(job: JobMessage, runtimes: readonly RuntimeInfo[]): string | undefined {
  const info = runtimes.find((r) => r.name === job.runtime)
  if (!info) return RuntimeUnavailable(job.runtime, 'it is not installed or failed to load on this device').message
  const backend = info.backends[0]
  if (job.runtime === 'tfjs' && SINGLE_THREAD_TFJS_BACKENDS.has(backend) && job.threads !== 1)
    return RuntimeUnavailable('tfjs', `the ${backend} backend runs 1 thread(s) here, the job asks for ${job.threads}`).message
  return undefined
}
