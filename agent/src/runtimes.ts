/**
 * What the agent can run, for its InfoMessage. ONNX Runtime reports its bundled execution
 * providers. tfjs is described without loading it (loading costs seconds): the backend it will
 * pick is the first of tfjs-node, wasm, cpu whose package resolves.
 */
import { createRequire } from 'node:module'
import type { RuntimeInfo } from '@fleetnas/shared'
import { createOnnxRuntimeRunner } from './runners/onnxruntime-runner.ts'

const require = createRequire(import.meta.url)

function resolves(name: string): boolean {
  try {
    require.resolve(name)
    return true
  } catch {
    return false
  }
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function tfjsInfo(): RuntimeInfo | undefined {
  if (resolves('@tensorflow/tfjs-node')) return { name: 'tfjs', version: packageVersion('@tensorflow/tfjs-node'), backends: ['tensorflow'] }
  if (!resolves('@tensorflow/tfjs')) return undefined
  const backend = resolves('@tensorflow/tfjs-backend-wasm') ? 'wasm' : 'cpu'
  return { name: 'tfjs', version: packageVersion('@tensorflow/tfjs'), backends: [backend] }
}

export function runtimeInfos(): RuntimeInfo[] {
  const out: RuntimeInfo[] = [createOnnxRuntimeRunner({ threads: 1 }).info()]
  const tf = tfjsInfo()
  if (tf) out.push(tf)
  return out
}
