/** Runner factory: one place that knows which runtimes exist. */
import type { RuntimeName } from '@fleetnas/shared'
import { createOnnxRuntimeRunner } from './onnxruntime-runner.ts'
import { createTfjsRunner } from './tfjs-runner.ts'
import type { Runner, RunnerOptions } from './runner.ts'

export type { MeasureTarget, PreparedTarget, Runner, RunnerOptions } from './runner.ts'

export async function createRunner(runtime: RuntimeName, opts: RunnerOptions): Promise<Runner> {
  switch (runtime) {
    case 'onnxruntime':
      return createOnnxRuntimeRunner(opts)
    case 'tfjs':
      return createTfjsRunner(opts)
  }
}
