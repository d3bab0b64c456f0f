/**
 * The agent against a real MQTT broker (aedes, embedded on a free port) and a fake controller
 * client speaking the shared protocol: job -> states -> results -> acks -> empty outbox.
 * Measuring runs in worker processes (the agent's default).
 */
import t from 'tap'
import { encodeMessage, PROTOCOL_VERSION, topics } from '@fleetnas/shared'
import { startAgent, type RunningAgent } from './agent.ts'
import { BLOCKS, FAST, fakeController as startFakeController, inventory, job, startBroker, tmp, until } from './testing/agent-harness.ts'

const broker = await startBroker()
const url = broker.url
t.teardown(() => broker.close())

const DEVICE = 'test-dev-1'
const fakeController = (autoAck: boolean) => startFakeController(url, DEVICE, autoAck)

t.test('job -> states -> results -> acks -> empty outbox; invalid payloads dropped', async (t) => {
  const stateDir = await tmp(t)
  const ctl = await fakeController(true)
  t.teardown(() => ctl.client.endAsync())
  const agent = await startAgent({ broker: url, stateDir, deviceId: DEVICE, logLevel: 'silent' }, { inventory, window: 3, batch: { maxBatch: 2, maxDelayMs: 200 } })
  t.equal(agent.deviceId, DEVICE)
  t.equal(agent.hardwareProfile, 'x86-64')
  await until(agent, ctl, () => agent.stats().connected, 'connected')
  await until(agent, ctl, () => ctl.statuses.some((s) => s.state === 'online') && ctl.info() !== undefined, 'retained online status and info')
  t.match(ctl.info(), { deviceId: DEVICE, hardwareProfile: 'x86-64', threads: 1, runtimes: [{ name: 'onnxruntime' }] })

  // Garbage first: counted, dropped, the agent carries on.
  await ctl.send('{"v":1,"type":"job"')
  await ctl.send(JSON.stringify({ ...job('bad-shape'), threads: 0 }))
  await until(agent, ctl, () => agent.stats().invalidMessages === 2, 'two invalid messages counted')

  await ctl.send(encodeMessage('jobs', job('job-1')))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-1' && s.state === 'SUCCEEDED') && agent.stats().outboxSize === 0, 'job-1 SUCCEEDED and every batch acked')
  const states = ctl.states.filter((s) => s.jobId === 'job-1').map((s) => s.state)
  t.equal(states[0], 'ACCEPTED')
  t.equal(states[1], 'IN_PROGRESS')
  t.equal(states.at(-1), 'SUCCEEDED')
  t.match(ctl.states.find((s) => s.state === 'SUCCEEDED'), { progress: { done: 5, total: 5 } })
  const measured = ctl.results.filter((r) => r.jobId === 'job-1').flatMap((r) => r.measurements)
  t.same(measured.filter((m) => m.kind === 'block').map((m) => m.key).sort(), [...BLOCKS].sort())
  t.ok(measured.some((m) => m.kind === 'empty'))
  const seqs = [...new Set(ctl.results.map((r) => r.seq))]
  t.same(seqs, seqs.map((_, i) => i), 'seqs 0..n-1')

  // Redelivery: re-acknowledged, not re-measured.
  const before = ctl.results.length
  ctl.states.length = 0
  await ctl.send(encodeMessage('jobs', job('job-1')))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-1'), 'job-state')
  t.equal(ctl.states[0].state, 'SUCCEEDED')
  t.equal(ctl.results.length, before)

  // Jobs it cannot run are rejected with a reason.
  await ctl.send(encodeMessage('jobs', job('job-bad', ['conv-k4-nonsense'])))
  await ctl.send(encodeMessage('jobs', job('job-tf', BLOCKS, { runtime: 'tfjs', threads: 3 })))
  await until(agent, ctl, () => ctl.states.filter((s) => s.state === 'REJECTED').length === 2, 'job-state')
  t.match(ctl.states.find((s) => s.jobId === 'job-bad'), { state: 'REJECTED', reason: /not a block key/ })
  t.match(ctl.states.find((s) => s.jobId === 'job-tf'), { state: 'REJECTED', reason: /thread/ })

  await agent.stop()
  await until(agent, ctl, () => ctl.statuses.at(-1)?.state === 'offline', 'offline status on stop')
  t.equal(agent.stats().invalidMessages, 2)
})

t.test('cancel; queueing; unacked results survive a restart and are republished with the same seqs', async (t) => {
  const stateDir = await tmp(t)
  const ctl = await fakeController(false)
  t.teardown(() => ctl.client.endAsync())
  const opts = { inventory, window: 2, batch: { maxBatch: 2, maxDelayMs: 100 } }
  let agent = await startAgent({ broker: url, stateDir, deviceId: DEVICE, logLevel: 'silent' }, opts)
  await until(agent, ctl, () => agent.stats().connected, 'connected')
  const slow = { ...FAST, minTimeMs: 5000, maxRuns: 1000000 } // ~25 s unless canceled
  await ctl.send(encodeMessage('jobs', job('job-long', BLOCKS, { settings: slow })))
  await ctl.send(encodeMessage('jobs', job('job-next', BLOCKS.slice(0, 2))))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-next' && s.state === 'ACCEPTED'), 'job-next ACCEPTED')
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-long' && s.state === 'IN_PROGRESS'), 'job-long IN_PROGRESS')
  t.equal(agent.stats().currentJob, 'job-long')
  t.same(agent.stats().queuedJobs, ['job-next'], 'one job at a time; the next one waits')
  await ctl.send(encodeMessage('jobs', { v: PROTOCOL_VERSION, type: 'cancel', jobId: 'job-long', time: new Date().toISOString() }))
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-next' && s.state === 'SUCCEEDED'), 'job-next SUCCEEDED')
  t.match(ctl.states.find((s) => s.jobId === 'job-long' && s.state === 'CANCELED'), { reason: /canceled/ })

  // Nothing was acked: every batch is still on disk. Restart the agent on the same state.
  await until(agent, ctl, () => ctl.results.length > 0 && ctl.results.length === agent.stats().outboxSize, 'results-published')
  const pending = agent.stats().outboxSize
  t.ok(pending > 0)
  const firstRun = ctl.results.map((r) => `${r.jobId}/${r.seq}`).sort()
  await agent.stop()
  ctl.results.length = 0
  agent = await startAgent({ broker: url, stateDir, deviceId: DEVICE, logLevel: 'silent' }, opts)
  t.teardown(() => agent.stop())
  t.equal(agent.stats().outboxSize, pending, 'reloaded from disk')
  await until(agent, ctl, () => ctl.results.length >= pending, 'results-published')
  t.same(ctl.results.map((r) => `${r.jobId}/${r.seq}`).sort(), firstRun, 'republished with the same seqs')
  for (const r of [...ctl.results]) await ctl.client.publishAsync(topics.acks(DEVICE), encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: r.jobId, seqs: [r.seq] }), { qos: 1 })
  await until(agent, ctl, () => agent.stats().outboxSize === 0, 'results-acked')
  t.same(agent.stats().queuedJobs, [], 'finished and canceled jobs are not resumed')
})

t.test('a job interrupted by a restart resumes and measures only what is missing', async (t) => {
  const stateDir = await tmp(t)
  const ctl = await fakeController(true)
  t.teardown(() => ctl.client.endAsync())
  const opts = { inventory, window: 1, batch: { maxBatch: 1, maxDelayMs: 50 } }
  let agent = await startAgent({ broker: url, stateDir, deviceId: DEVICE, logLevel: 'silent' }, opts)
  const settings = { ...FAST, minTimeMs: 250, maxRuns: 1000000 }
  await until(agent, ctl, () => agent.stats().connected, 'connected')
  await ctl.send(encodeMessage('jobs', job('job-resume', BLOCKS, { settings })))
  const blocksSeen = () => ctl.results.flatMap((r) => r.measurements).filter((m) => m.kind === 'block').map((m) => m.key)
  await until(agent, ctl, () => blocksSeen().length >= 2, 'two blocks measured')
  await agent.stop()
  t.not(ctl.states.at(-1)?.state, 'SUCCEEDED')
  const firstRun = blocksSeen()
  t.ok(firstRun.length < BLOCKS.length, `${firstRun.length} of ${BLOCKS.length} blocks before the restart`)

  agent = await startAgent({ broker: url, stateDir, deviceId: DEVICE, logLevel: 'silent' }, opts)
  t.teardown(() => agent.stop())
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-resume' && s.state === 'SUCCEEDED') && agent.stats().outboxSize === 0, 'job-resume SUCCEEDED after the restart')
  t.same([...new Set(blocksSeen())].sort(), [...BLOCKS].sort(), 'every block measured')
  const bySeq = new Map<number, string>()
  for (const r of ctl.results.filter((r) => r.jobId === 'job-resume')) {
    const data = JSON.stringify(r.measurements)
    t.equal(bySeq.get(r.seq) ?? data, data, `seq ${r.seq} always carries the same data (a redelivery at most)`)
    bySeq.set(r.seq, data)
  }
  const distinct = [...bySeq.values()].flatMap((d) => JSON.parse(d) as { kind: string; key: string }[]).filter((m) => m.kind === 'block')
  t.equal(distinct.length, BLOCKS.length, 'no block measured twice (the resumed job skipped the measured ones)')
})

t.test('unacknowledged batches are published again until acked', async (t) => {
  const stateDir = await tmp(t)
  const ctl = await fakeController(false)
  t.teardown(() => ctl.client.endAsync())
  const agent = await startAgent({ broker: url, stateDir, deviceId: DEVICE, logLevel: 'silent' }, { inventory, resendAfterMs: 200, batch: { maxBatch: 50, maxDelayMs: 50 } })
  t.teardown(() => agent.stop())
  await until(agent, ctl, () => agent.stats().connected, 'connected')
  await ctl.send(encodeMessage('jobs', job('job-resend', BLOCKS.slice(0, 1))))
  await until(agent, ctl, () => ctl.results.filter((r) => r.jobId === 'job-resend' && r.seq === 0).length >= 2, 'seq 0 published twice')
  await until(agent, ctl, () => ctl.states.some((s) => s.jobId === 'job-resend' && s.state === 'SUCCEEDED'), 'job-resend SUCCEEDED')
  await until(agent, ctl, () => ctl.results.length >= agent.stats().outboxSize && agent.stats().outboxSize > 0, 'every batch published')
  const seqs = [...new Set(ctl.results.filter((r) => r.jobId === 'job-resend').map((r) => r.seq))]
  await ctl.client.publishAsync(topics.acks(DEVICE), encodeMessage('acks', { v: PROTOCOL_VERSION, jobId: 'job-resend', seqs }), { qos: 1 })
  await until(agent, ctl, () => agent.stats().outboxSize === 0, 'acked')
})
