// Child process of parallel.test.ts: meta-trains on two worker threads, aborting after the first
// iteration when asked, prints one JSON line and returns without process.exit, so the process ends
// only if no worker thread is left behind.
import { metaTrain } from './meta-train.ts'
import { liveWorkerThreads } from '../engine/inner-loop-pool.ts'
import { base } from './test-tasks.ts'

const abort = process.argv.includes('--abort')
const controller = new AbortController()
const ck = await metaTrain({
  ...base,
  iterations: 3,
  threads: 2,
  signal: controller.signal,
  onProgress: () => {
    if (abort) controller.abort()
  },
})
console.log(JSON.stringify({ iteration: ck.iteration, liveWorkers: liveWorkerThreads() }))
