import t from 'tap'
import { isFleetnasError } from './errors.ts'
import { PollInterrupted, PollTimedOut, pollUntil } from './poll-until.ts'

t.test('resolves with the first defined value; falsy values other than undefined count', async (t) => {
  let calls = 0
  t.equal(await pollUntil(() => (++calls < 3 ? undefined : 0), { what: 'zero', everyMs: 1 }), 0)
  t.equal(calls, 3, 'probed until it answered, not after')
  t.equal(await pollUntil(async () => false, { what: 'false', everyMs: 1 }), false)
})

t.test('times out with a code and what it waited for, after a last probe at the deadline', async (t) => {
  let calls = 0
  const t0 = Date.now()
  const e = await pollUntil(() => void calls++, { what: 'the device to come online', everyMs: 1000, timeoutMs: 60 }).catch((e: unknown) => e)
  t.ok(isFleetnasError(e, PollTimedOut.code), 'PollTimedOut')
  t.equal((e as Error).message, 'timed out after 60 ms waiting for the device to come online')
  t.equal(calls, 2, 'probed at once and at the deadline, not every 1000 ms past it')
  t.ok(Date.now() - t0 < 900, 'the pause is cut to the deadline')
  t.equal(PollTimedOut('x', 60_000).message, 'timed out after 60 s waiting for x')
})

t.test('an abort ends the wait at once, also mid-pause', async (t) => {
  const ac = new AbortController()
  const t0 = Date.now()
  const waiting = pollUntil(() => undefined, { what: 'the campaign to end', everyMs: 10_000, signal: ac.signal })
  setImmediate(() => ac.abort())
  const e = await waiting.catch((e: unknown) => e)
  t.ok(isFleetnasError(e, PollInterrupted.code), 'PollInterrupted')
  t.equal((e as Error).message, 'interrupted while waiting for the campaign to end')
  t.ok(Date.now() - t0 < 5000, 'did not sit out the pause')
  let probed = false
  await t.rejects(pollUntil(() => (probed = true), { what: 'x', everyMs: 1, signal: ac.signal }), { code: PollInterrupted.code })
  t.notOk(probed, 'an aborted signal probes nothing')
})

t.test('a probe that throws ends the wait with its error', async (t) => {
  await t.rejects(pollUntil(() => { throw new Error('agent exited') }, { what: 'x', everyMs: 1 }), { message: 'agent exited' })
})
