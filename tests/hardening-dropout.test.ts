/**
 * e) A device that drops out for good mid-campaign (process killed, its state directory gone).
 *
 * What the controller implements (controller/src/campaigns/scheduler.ts): an execution belongs to one
 * device and is never reassigned to another; its timeout only runs while the device is online, so an
 * offline device's execution waits (IN_PROGRESS, no retry spent) however long it is away, while the
 * other devices' executions finish. When the device comes back (here: reinstalled, empty state dir,
 * same id) it gets the same job again with the blocks already stored listed in `skip`, and measures
 * only the rest. The campaign ends SUCCEEDED with every block stored exactly once.
 */
import t from 'tap'
import { rm } from 'node:fs/promises'
import { pino } from 'pino'
import { startController } from '../controller/src/index.ts'
import { ApiClient } from '../controller/src/cli/api-client.ts'
import type { CampaignView } from '../controller/src/index.ts'
import { spawnAgent, tempDir, until, waitCampaign, waitOnline } from './helpers/fleet.ts'
import { assertStoredOnce } from './helpers/controller-process.ts'

const BLOCKS = 40
const SETTINGS = { warmupRuns: 1, minRuns: 5, minTimeMs: 100, maxCv: 1, rounds: 1, referenceEvery: 0 }
// Generous: a reinstalled agent needs a few seconds (runtime probe, first session) before its first progress.
const TIMEOUT_MS = 10_000
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED']

const agentArgs = (broker: string, id: string, stateDir: string) => [
  '--broker', broker, '--state-dir', stateDir, '--device-id', id, '--threads', '1', '--hardware-profile', 'x86-64', '--log-level', 'info',
]

t.test('e) a device that drops out for good: its work waits, is not reassigned, and resumes when it returns', async (t) => {
  const dir = await tempDir('fleetnas-hardening-dropout-')
  t.teardown(dir.remove)
  const dataDir = `${dir.path}/controller`
  const ctl = await startController({ dataDir, httpPort: 0, mqttPort: 0, insecure: true, schedulerIntervalMs: 200 }, { logger: pino({ level: process.env.FLEETNAS_TEST_LOG ?? 'silent' }), env: {} })
  t.teardown(() => ctl.stop())
  const api = new ApiClient({ api: ctl.httpUrl })

  const leaver = spawnAgent(agentArgs(ctl.mqttUrl, 'leaver', `${dir.path}/leaver`))
  t.teardown(() => leaver.stop())
  const stayer = spawnAgent(agentArgs(ctl.mqttUrl, 'stayer', `${dir.path}/stayer`))
  t.teardown(() => stayer.stop())
  await waitOnline(api, ['leaver', 'stayer'])
  const { id } = await api.post<{ id: string }>('/v1/campaigns', {
    name: 'dropout', searchSpace: 'default', sample: BLOCKS, seed: 17, targets: { devices: ['leaver', 'stayer'] }, runtimes: ['onnxruntime'],
    settings: SETTINGS, executionTimeoutMs: TIMEOUT_MS, maxRetries: 1,
  })
  const execOf = (c: CampaignView, device: string) => c.executions.find((e) => e.deviceId === device)!
  await waitCampaign(api, id, (c) => execOf(c, 'leaver').done >= 1, 'the leaver to store its first results', 90_000)

  // Gone for good: killed, and its disk with it.
  await leaver.stop('SIGKILL')
  await rm(`${dir.path}/leaver`, { recursive: true, force: true })
  const deviceStatus = async (id: string) => (await api.get<{ id: string; status: string }[]>('/v1/devices')).find((d) => d.id === id)?.status
  await until('the leaver offline (Last Will)', async () => ((await deviceStatus('leaver')) === 'offline' ? true : undefined), 20_000)
  const away = await waitCampaign(api, id, (c) => TERMINAL.includes(execOf(c, 'stayer').state), 'the stayer to finish its execution', 120_000)
  const leftBehind = execOf(away, 'leaver')
  t.equal(execOf(away, 'stayer').state, 'SUCCEEDED', 'the other device finished its own execution')
  t.ok(leftBehind.done < BLOCKS, `the leaver left work behind (${leftBehind.done} of ${BLOCKS} stored)`)

  // Longer than the execution timeout, offline: no timeout, no retry, no reassignment.
  const since = Date.now()
  await until('the execution timeout to pass', () => (Date.now() - since > 1.25 * TIMEOUT_MS ? true : undefined), 2 * TIMEOUT_MS, 200)
  const waiting = await api.get<CampaignView>(`/v1/campaigns/${id}`)
  t.equal(waiting.state, 'IN_PROGRESS', 'the campaign waits for the missing device')
  t.match(execOf(waiting, 'leaver'), { state: 'IN_PROGRESS', attempts: 1, retries: 0, done: leftBehind.done }, 'its execution waits untouched: no timeout while offline')
  t.same(waiting.executions.map((e) => e.deviceId).sort(), ['leaver', 'stayer'], 'nothing was reassigned to another device')

  // It comes back, reinstalled (empty state dir): the same job again, with the stored blocks skipped.
  const returned = spawnAgent(agentArgs(ctl.mqttUrl, 'leaver', `${dir.path}/leaver`))
  t.teardown(() => returned.stop())
  const context = () => `returned leaver:\n${returned.output().slice(-4000)}\nstayer:\n${stayer.output().slice(-2000)}`
  let done: CampaignView
  try {
    done = await waitCampaign(api, id, (c) => TERMINAL.includes(c.state), 'the campaign to finish after the device returned', 120_000)
  } catch (e) {
    throw new Error(`${(e as Error).message}\ncampaign: ${JSON.stringify(await api.get(`/v1/campaigns/${id}`))}\n${context()}`)
  }
  const back = execOf(done, 'leaver')
  t.equal(back.state, 'SUCCEEDED', 'the returned device finished its execution')
  // Its earlier life stored batches under this jobId: the resent job says where seqs may start
  // (seqFrom), so the reinstalled agent's batches do not collide with stored (jobId, seq) and get
  // dropped as duplicates (they were, before seqFrom: the lost blocks came back only by timeout and retry).
  const duplicates = /^fleetnas_result_batches_duplicate_total (\d+)/m.exec(await api.requestText('GET', '/metrics'))?.[1]
  t.equal(duplicates, '0', 'no batch of the returned device was taken for a duplicate')
  t.match(back, { attempts: 1, retries: 0 }, `the same job finished without a retry${back.attempts === 1 ? '' : ` (reason: ${back.reason}; batches taken for duplicates: ${duplicates})`}`)
  const finished = /"measured":(\d+),.*"msg":"job finished"/.exec(returned.output())
  t.ok(finished && Number(finished[1]) <= BLOCKS - leftBehind.done, `the returned device measured only what was missing (${finished?.[1]} of ${BLOCKS - leftBehind.done} missing)`)
  await assertStoredOnce(t, { api, dataDir, campaignId: id, blocks: BLOCKS, hardwareProfile: 'x86-64', context })
})
