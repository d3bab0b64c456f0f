import t from 'tap'
import { DEFAULT_MEASURE_SETTINGS } from '@fleetnas/shared'
import { tempDir } from '../testing/harness.ts'
import { openStore } from './db.ts'

// jobOwner is remembered once found (its rows never change); a job not sent yet must stay unknown
// only until it is sent.
t.test('jobOwner finds a job once it is sent, and keeps finding it', async (t) => {
  const store = openStore(tempDir(t))
  t.teardown(() => store.close())
  const now = '2026-01-02T03:04:05.000Z'
  store.devices.recordStatus('dev-1', 'online', '1', now)
  store.campaigns.create(
    { id: 'c-1', name: 'c', runtimes: ['onnxruntime'], settings: DEFAULT_MEASURE_SETTINGS, targets: {}, executionTimeoutMs: 60_000, maxRetries: 0 },
    [{ kind: 'block', key: 'k1' }],
    [{ id: 'c-1-e1', deviceId: 'dev-1', runtime: 'onnxruntime', threads: 1 }],
    now,
  )
  t.equal(store.campaigns.jobOwner('c-1-e1-a1'), undefined, 'not sent yet')
  store.campaigns.recordJob('c-1-e1', 'dev-1', 'c-1-e1-a1', 1, now)
  const owner = { executionId: 'c-1-e1', campaignId: 'c-1', deviceId: 'dev-1', attempt: 1 }
  t.same(store.campaigns.jobOwner('c-1-e1-a1'), owner, 'found once sent')
  t.same(store.campaigns.jobOwner('c-1-e1-a1'), owner, 'and again')
  store.campaigns.recordJob('c-1-e1', 'dev-1', 'c-1-e1-a2', 2, now)
  t.same(store.campaigns.jobOwner('c-1-e1-a2'), { ...owner, attempt: 2 }, 'a retry is its own job')
  t.same(store.campaigns.jobOwner('c-1-e1-a1'), owner, 'the superseded job keeps its owner')
})
