/**
 * Running many independent inner loops (MAML tasks, training or evaluation) and handing the results
 * back in task order. Two runners: `serialRunner` (one TrainingEngine in this thread) and
 * `InnerLoopPool` (worker threads, one single-threaded engine each). Both deliver results to
 * `onResult` strictly in task order, so whatever the caller accumulates (the meta-gradient sum)
 * is summed in the same order, and the same values, as on the serial path. `run` gives every task
 * the same network and parameters (one architecture's MAML); `runEach` lets each task bring its own
 * (the sub-networks of a supernet, a different architecture per task).
 */
import type { InnerTask, Network, StepResult, TrainingEngine } from './engine.ts'

export interface InnerLoopOptions {
  steps: number
  lr: number
  mode: 'train' | 'eval'
}

/**
 * Called once per task, in task order. `r` is only valid during the call (the serial runner hands
 * out the engine's reused buffers): copy or accumulate what you keep.
 */
export type OnInnerLoopResult<T> = (r: StepResult, task: T, index: number) => void

/** A task that brings its own network and parameters (`params` must not change until the run settles). */
export interface NetworkTask extends InnerTask {
  net: Network
  params: Float32Array
}

export interface InnerLoopRunner {
  /** Tasks computed at once. */
  readonly parallelism: number
  /**
   * Runs the inner loop of every task `tasks` yields (pulled lazily, so tasks can be sampled while
   * earlier ones run) at `params`, which must not change until the returned promise settles.
   * Resolves with the number of tasks run; rejects with the first error (of the iterator, a task
   * or `onResult`) once nothing is in flight any more.
   */
  run<T extends InnerTask>(net: Network, params: Float32Array, tasks: Iterable<T>, opts: InnerLoopOptions, onResult: OnInnerLoopResult<T>): Promise<number>
  /** As `run`, but each task runs on its own `net` at its own `params`. */
  runEach<T extends NetworkTask>(tasks: Iterable<T>, opts: InnerLoopOptions, onResult: OnInnerLoopResult<T>): Promise<number>
}

/** Tasks one after another on `engine` (which may itself use several intra-op threads). */
export function serialRunner(engine: TrainingEngine): InnerLoopRunner {
  return {
    parallelism: 1,
    async run(net, params, tasks, opts, onResult) {
      let index = 0
      for (const task of tasks) {
        const r = await engine.innerLoop(net, params, task, opts)
        onResult(r, task, index++)
      }
      return index
    },
    async runEach(tasks, opts, onResult) {
      let index = 0
      for (const task of tasks) {
        const r = await engine.innerLoop(task.net, task.params, task, opts)
        onResult(r, task, index++)
      }
      return index
    },
  }
}
