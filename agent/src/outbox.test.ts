import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { atomicWriteTempPath, DEFAULT_MEASURE_SETTINGS, type JobMessage, type Measurement, type ResultsMessage } from '@fleetnas/shared'
import { JobStore } from './job-store.ts'
import { Outbox } from './outbox.ts'
import { ResultsBatcher } from './results-batcher.ts'

const measurement = (key: string, kind: Measurement['kind'] = 'block'): Measurement => ({
  key, kind, runtime: 'onnxruntime', backend: 'cpu', threads: 1, medianMs: 0.1, p10Ms: 0.09, p90Ms: 0.12, meanMs: 0.1,
  stdMs: 0.01, cv: 0.02, samples: 100, rounds: 3, noisy: false, time: new Date().toISOString(),
})
const batch = (jobId: string, seq: number, keys: string[]): ResultsMessage => ({ v: 1, deviceId: 'dev-1', jobId, seq, measurements: keys.map((k) => measurement(k)) })

async function tmp(t: any): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnas-outbox-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('write, ack, reload after a restart', async (t) => {
  const dir = await tmp(t)
  const box = await Outbox.open(dir)
  await box.put(batch('job-a', 0, ['k1', 'k2']))
  await box.put(batch('job-a', 1, ['k3']))
  await box.put(batch('job-b', 0, ['k9']))
  t.equal(box.size, 3)
  t.same(await box.ack('job-a', [0, 7]), [0], 'unknown seqs ack nothing')
  t.same(await box.ack('job-a', [0]), [], 'a duplicate ack changes nothing')

  const bad: string[] = []
  await writeFile(join(dir, 'job-b', '5.json'), '{ torn')
  await writeFile(atomicWriteTempPath(join(dir, 'job-b', '6.json')), '{"v":1,') // a write cut off by a kill
  await writeFile(join(dir, 'job-b', '7.json.4242.tmp'), '{"v":1,') // one cut off under the agent's older temp naming
  const again = await Outbox.open(dir, (f) => bad.push(f))
  t.same(again.pending().map((e) => [e.message.jobId, e.message.seq]), [['job-a', 1], ['job-b', 0]])
  t.ok(again.pending().every((e) => e.publishedAt === 0), 'reloaded batches count as never published')
  t.match(bad, [/5\.json$/])
  t.same((await readdir(join(dir, 'job-b'))).sort(), ['0.json', '5.json'], 'temp files left by a crash are swept, so the folder can empty')
  t.equal(again.maxSeq('job-a'), 1)
  t.same([...again.pendingKeys('job-a')], ['k3'])
  await again.ack('job-a', [1])
  await Outbox.open(dir)
  t.same(await readdir(dir), ['job-b'], 'an emptied job folder is removed on the next open')
})

t.test('seqs and measured keys survive a restart, and are never reused', async (t) => {
  const dir = await tmp(t)
  const open = async () => ({ box: await Outbox.open(join(dir, 'outbox')), store: await JobStore.open(join(dir, 'jobs')) })
  let { box, store } = await open()
  const published: ResultsMessage[] = []
  const job: JobMessage = {
    v: 1, type: 'job', jobId: 'job-1', campaignId: 'c-1', runtime: 'onnxruntime', threads: 1,
    blocks: [], settings: DEFAULT_MEASURE_SETTINGS, time: new Date().toISOString(),
  }
  await store.setState('job-1', 'IN_PROGRESS', { job })
  const b = new ResultsBatcher({ deviceId: 'dev-1', jobId: 'job-1', outbox: box, store, publish: (m) => published.push(m), maxBatch: 2, maxDelayMs: 50 })
  for (const k of ['a', 'b', 'c']) b.add(measurement(k))
  b.add(measurement('empty-i1x1x8', 'empty'))
  await b.flush()
  t.same(published.map((m) => m.seq), [0, 1])
  await box.ack('job-1', [0, 1])
  t.equal(box.size, 0)

  ;({ box, store } = await open())
  t.equal(store.nextSeq('job-1', box.maxSeq('job-1') + 1), 2, 'acked batches still reserve their seqs')
  t.same([...store.measuredKeys('job-1')].sort(), ['a', 'b', 'c'], 'empty and reference are not resumable keys')
  t.same(store.unfinished().map((r) => r.jobId), ['job-1'])
  await store.setState('job-1', 'SUCCEEDED')
  ;({ store } = await open())
  t.same(store.unfinished(), [])
  t.equal(store.get('job-1')?.state, 'SUCCEEDED')
})

t.test('a batch in the outbox but not yet in the journal (crash between) still reserves its seq', async (t) => {
  const dir = await tmp(t)
  const box = await Outbox.open(join(dir, 'outbox'))
  const store = await JobStore.open(join(dir, 'jobs'))
  await box.put(batch('job-2', 0, ['x']))
  const published: ResultsMessage[] = []
  const b = new ResultsBatcher({ deviceId: 'dev-1', jobId: 'job-2', outbox: box, store, publish: (m) => published.push(m) })
  b.add(measurement('y'))
  await b.flush()
  t.equal(published[0].seq, 1)
})
