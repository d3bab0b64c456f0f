import t, { type Test } from 'tap'
import { Value } from '@sinclair/typebox/value'
import type { TObject } from '@sinclair/typebox'
import { FleetnasError, isFleetnasError } from '../errors.ts'
import {
  CancelMessageSchema,
  DEFAULT_MEASURE_SETTINGS,
  JobMessageSchema,
  MAX_PAYLOAD_BYTES,
  MeasureSettingsSchema,
  PROTOCOL_VERSION,
  messageSchemas,
  type MessageKind,
  type MessageOf,
  type Measurement,
  type JobMessage,
} from './messages.ts'
import { InvalidOutboundMessage, checkMessage, decodeMessage, encodeMessage } from './validate.ts'

const time = '2025-03-01T12:00:00.123Z'

const measurement: Measurement = {
  key: 'conv-k3-s1-i28x28x16-o28x28x32-bn-relu',
  kind: 'block',
  runtime: 'onnxruntime',
  backend: 'cpu',
  threads: 1,
  medianMs: 0.42,
  p10Ms: 0.4,
  p90Ms: 0.47,
  meanMs: 0.43,
  stdMs: 0.02,
  cv: 0.046,
  samples: 60,
  rounds: 3,
  noisy: false,
  overheadMs: 0.01,
  before: { temperatureC: 48.5, frequencyMHz: 1800, throttled: false },
  after: { temperatureC: 51 },
  time,
}

/** One well-formed example per kind (jobs has two variants). */
const examples: { [K in MessageKind]: MessageOf[K][] } = {
  status: [
    { v: 1, deviceId: 'pi4-01', state: 'online', agentVersion: '0.1.0', time },
    { v: 1, deviceId: 'pi4-01', state: 'offline', agentVersion: '0.1.0', time: '2025-03-01T12:00:00+02:00' },
  ],
  info: [
    {
      v: 1,
      deviceId: 'pi4-01',
      hardwareProfile: 'raspberry-pi-4',
      inventory: {
        cpuModel: 'Cortex-A72',
        cpuVendor: 'ARM',
        cores: 4,
        physicalCores: 4,
        maxFrequencyMHz: 1800,
        memoryBytes: 4e9,
        os: 'Debian 12',
        arch: 'arm64',
        hostname: 'pi4-01',
        model: 'Raspberry Pi 4 Model B',
        gpus: [],
        temperatureC: 45,
      },
      runtimes: [
        { name: 'onnxruntime', version: '1.23.0', backends: ['cpu'] },
        { name: 'tfjs', version: '4.22.0', backends: ['wasm'] },
      ],
      threads: 4,
      agentVersion: '0.1.0',
      time,
    },
  ],
  jobs: [
    {
      v: 1,
      type: 'job',
      jobId: 'job-1',
      campaignId: 'c1',
      runtime: 'onnxruntime',
      threads: 1,
      blocks: ['conv-k3-s1-i28x28x16-o28x28x32-bn-relu', 'head-gap-fc-i1x1x64-o5'],
      architectures: ['g1_conv-k3-w64-mp_conv-k3-w64-mp'],
      settings: DEFAULT_MEASURE_SETTINGS,
      skip: [],
      time,
    },
    { v: 1, type: 'cancel', jobId: 'job-1', time },
  ],
  jobState: [
    { v: 1, deviceId: 'pi4-01', jobId: 'job-1', state: 'ACCEPTED', time },
    { v: 1, deviceId: 'pi4-01', jobId: 'job-1', state: 'IN_PROGRESS', progress: { done: 3, total: 10 }, time },
    { v: 1, deviceId: 'pi4-01', jobId: 'job-1', state: 'FAILED', reason: 'out of memory', time },
  ],
  results: [
    { v: 1, deviceId: 'pi4-01', jobId: 'job-1', seq: 0, measurements: [measurement] },
    // From an agent that reports the median's interval and the below-overhead flag (older ones omit them).
    { v: 1, deviceId: 'pi4-01', jobId: 'job-1', seq: 1, measurements: [{ ...measurement, ciLowMs: 0.41, ciHighMs: 0.44 }, { ...measurement, key: 'head-gap-fc-i1x1x64-o5', medianMs: 0, p10Ms: 0, ciLowMs: 0, ciHighMs: 0.0004, belowOverhead: true }] },
  ],
  acks: [{ v: 1, jobId: 'job-1', seqs: [0, 1, 2] }],
}

const kinds = Object.keys(messageSchemas) as MessageKind[]
const clone = <T>(x: T): T => structuredClone(x)

/** The object schema an example is checked against (jobs: its variant). */
function objectSchema(kind: MessageKind, example: Record<string, unknown>): TObject {
  if (kind === 'jobs') return (example.type === 'job' ? JobMessageSchema : CancelMessageSchema) as TObject
  return messageSchemas[kind] as TObject
}

function expectReject(t: Test, kind: MessageKind, value: unknown, path: string, why: string) {
  const r = checkMessage(kind, value)
  t.equal(r.ok, false, `${kind}: ${why} is rejected`)
  if (!r.ok) {
    t.match(r.reason, new RegExp(`^${kind} message: `), 'reason names the kind')
    t.ok(r.reason.includes(`${path}:`), `${kind}: ${why}: reason ${JSON.stringify(r.reason)} names ${path}`)
  }
}

/** A value of the wrong JSON type for the field now holding `v`. */
function wrongType(v: unknown): unknown {
  if (typeof v === 'string') return 12345
  if (typeof v === 'number') return 'seven'
  if (typeof v === 'boolean') return 'yes'
  if (Array.isArray(v)) return { length: 0 }
  return 'an object'
}

t.test('every kind accepts its well-formed examples, as text and bytes', async (t) => {
  t.equal(PROTOCOL_VERSION, 1)
  for (const kind of kinds) {
    t.ok(examples[kind].length > 0, `${kind} has an example`)
    for (const ex of examples[kind]) {
      const text = JSON.stringify(ex)
      const fromText = decodeMessage(kind, text)
      t.same(fromText, { ok: true, value: ex }, `${kind} from text`)
      t.same(decodeMessage(kind, new TextEncoder().encode(text)), { ok: true, value: ex }, `${kind} from bytes`)
      t.same(decodeMessage(kind, Buffer.from(text)), { ok: true, value: ex }, `${kind} from a Buffer`)
      t.equal(encodeMessage(kind, ex), text, `${kind} encodes to plain JSON`)
    }
  }
})

t.test('optional fields may be present as undefined (senders spread objects)', async (t) => {
  t.equal(checkMessage('jobs', { ...examples.jobs[0], skip: undefined, architectures: undefined }).ok, true)
  t.equal(encodeMessage('jobs', { ...(examples.jobs[0] as JobMessage), skip: undefined }).includes('skip'), false)
  t.equal(checkMessage('jobState', { ...examples.jobState[0], progress: undefined, reason: undefined }).ok, true)
})

t.test('DEFAULT_MEASURE_SETTINGS satisfy their schema', async (t) => {
  t.ok(Value.Check(MeasureSettingsSchema, DEFAULT_MEASURE_SETTINGS))
})

t.test('non-JSON payloads are rejected with a reason', async (t) => {
  for (const kind of kinds)
    for (const bad of ['', '{', 'online', '{"v":1,}', "{'v':1}", new Uint8Array([0xff, 0xfe, 0x00])]) {
      const r = decodeMessage(kind, bad)
      t.equal(r.ok, false)
      if (!r.ok) t.match(r.reason, /^not JSON: /)
    }
  // JSON but not an object.
  for (const kind of kinds)
    for (const bad of ['null', '1', '"x"', '[]', 'true']) {
      const r = decodeMessage(kind, bad)
      t.equal(r.ok, false, `${kind} ${bad}`)
    }
})

t.test('oversized payloads are refused before parsing', async (t) => {
  for (const kind of kinds) {
    // Valid JSON padded with whitespace just over the limit: the size alone decides.
    const text = JSON.stringify(examples[kind][0])
    const over = text + ' '.repeat(MAX_PAYLOAD_BYTES + 1 - Buffer.byteLength(text))
    t.equal(Buffer.byteLength(over), MAX_PAYLOAD_BYTES + 1)
    const r = decodeMessage(kind, over)
    t.same(r, { ok: false, reason: `payload of ${MAX_PAYLOAD_BYTES + 1} bytes exceeds ${MAX_PAYLOAD_BYTES}` })
    t.equal(decodeMessage(kind, Buffer.from(over)).ok, false)
    // Exactly at the limit is fine.
    const at = text + ' '.repeat(MAX_PAYLOAD_BYTES - Buffer.byteLength(text))
    t.equal(decodeMessage(kind, at).ok, true, `${kind} at the limit`)
  }
  // Multi-byte characters count as bytes, not characters.
  const status = { ...examples.status[0], agentVersion: 'é'.repeat(10) }
  const text = JSON.stringify(status) + ' '.repeat(MAX_PAYLOAD_BYTES - JSON.stringify(status).length)
  t.equal(decodeMessage('status', text).ok, false, 'bytes, not chars')
})

t.test('wrong protocol version is rejected naming /v', async (t) => {
  for (const kind of kinds)
    for (const ex of examples[kind]) {
      for (const v of [0, 2, '1', null]) expectReject(t, kind, { ...ex, v }, '/v', `v=${JSON.stringify(v)}`)
      const { v: _v, ...noV } = ex
      expectReject(t, kind, noV, '/v', 'missing v')
    }
})

t.test('every missing required field is rejected naming its path', async (t) => {
  for (const kind of kinds)
    for (const ex of examples[kind]) {
      const schema = objectSchema(kind, ex as Record<string, unknown>)
      t.ok((schema.required ?? []).length > 0)
      for (const field of schema.required ?? []) {
        const value = clone(ex) as Record<string, unknown>
        delete value[field]
        expectReject(t, kind, value, `/${field}`, `missing ${field}`)
      }
    }
  // Nested required fields.
  const noMedian = clone(examples.results[0]) as any
  delete noMedian.measurements[0].medianMs
  expectReject(t, 'results', noMedian, '/measurements/0/medianMs', 'missing measurement field')
  const noCores = clone(examples.info[0]) as any
  delete noCores.inventory.cores
  expectReject(t, 'info', noCores, '/inventory/cores', 'missing inventory field')
  const noMaxCv = clone(examples.jobs[0]) as any
  delete noMaxCv.settings.maxCv
  expectReject(t, 'jobs', noMaxCv, '/settings/maxCv', 'missing setting')
})

t.test('every field of the wrong type is rejected naming its path', async (t) => {
  for (const kind of kinds)
    for (const ex of examples[kind])
      for (const [field, v] of Object.entries(ex)) {
        if (field === 'type' && kind === 'jobs') continue // the discriminator; below
        const value = { ...ex, [field]: wrongType(v) }
        expectReject(t, kind, value, `/${field}`, `${field} as ${typeof wrongType(v)}`)
      }
  const m0 = (patch: Partial<Measurement>) => ({ ...examples.results[0], measurements: [{ ...measurement, ...patch }] })
  expectReject(t, 'results', m0({ medianMs: -1 }), '/measurements/0/medianMs', 'negative median')
  expectReject(t, 'results', m0({ threads: 1.5 }), '/measurements/0/threads', 'fractional threads')
  expectReject(t, 'results', m0({ runtime: 'tflite' as any }), '/measurements/0/runtime', 'unknown runtime')
  expectReject(t, 'results', m0({ noisy: 0 as any }), '/measurements/0/noisy', 'number as boolean')
  expectReject(t, 'results', m0({ ciLowMs: -0.1 }), '/measurements/0/ciLowMs', 'negative interval end')
  expectReject(t, 'results', m0({ ciHighMs: '0.5' as any }), '/measurements/0/ciHighMs', 'interval end as string')
  expectReject(t, 'results', m0({ belowOverhead: 1 as any }), '/measurements/0/belowOverhead', 'number as boolean')
  expectReject(t, 'results', m0({ before: { throttled: 'no' as any } }), '/measurements/0/before/throttled', 'env type')
  expectReject(t, 'results', m0({ key: '' }), '/measurements/0/key', 'empty key')
  expectReject(t, 'results', { ...examples.results[0], deviceId: 'a/b' }, '/deviceId', 'id with a slash')
  expectReject(t, 'results', { ...examples.results[0], deviceId: '+' }, '/deviceId', 'wildcard id')
  expectReject(t, 'status', { ...examples.status[0], time: '2025-03-01' }, '/time', 'date without time')
  expectReject(t, 'status', { ...examples.status[0], time: '2025-13-45T25:00:00Z' }, '/time', 'impossible date')
  expectReject(t, 'status', { ...examples.status[0], state: 'away' }, '/state', 'unknown state')
  expectReject(t, 'jobState', { ...examples.jobState[0], state: 'QUEUED' }, '/state', 'controller-only state')
  expectReject(t, 'jobState', { ...examples.jobState[1], progress: { done: -1, total: 1 } }, '/progress/done', 'negative progress')
  expectReject(t, 'info', { ...examples.info[0], runtimes: [{ name: 'onnxruntime', version: '1', backends: [1] }] }, '/runtimes/0/backends/0', 'backend type')
  expectReject(t, 'jobs', { ...examples.jobs[0], settings: { ...DEFAULT_MEASURE_SETTINGS, minRuns: 0 } }, '/settings/minRuns', 'minRuns 0')
  expectReject(t, 'jobs', { ...examples.jobs[0], blocks: ['x'.repeat(129)] }, '/blocks/0', 'over-long block key')
  expectReject(t, 'jobs', { ...examples.jobs[1], jobId: '' }, '/jobId', 'cancel with empty id')
  // The jobs discriminator.
  for (const type of ['start', 1, undefined, 'toString']) expectReject(t, 'jobs', { ...examples.jobs[0], type }, '/type', `type=${String(type)}`)
  // A job shaped message marked as cancel is a valid cancel (extra fields are tolerated) ...
  t.equal(checkMessage('jobs', { ...examples.jobs[0], type: 'cancel' }).ok, true)
  // ... but a cancel marked as a job lacks the job fields.
  expectReject(t, 'jobs', { ...examples.jobs[1], type: 'job' }, '/campaignId', 'cancel marked job')
  // Non-object JSON values.
  for (const kind of kinds) for (const v of [null, 3, 'x', []]) t.equal(checkMessage(kind, v).ok, false, `${kind} ${JSON.stringify(v)}`)
})

t.test('arrays over their maximum size are rejected naming the array', async (t) => {
  expectReject(t, 'results', { ...examples.results[0], measurements: Array(1001).fill(measurement) }, '/measurements', '1001 measurements')
  expectReject(t, 'results', { ...examples.results[0], measurements: [] }, '/measurements', 'no measurements')
  expectReject(t, 'acks', { ...examples.acks[0], seqs: Array.from({ length: 10001 }, (_, i) => i) }, '/seqs', '10001 seqs')
  expectReject(t, 'acks', { ...examples.acks[0], seqs: [] }, '/seqs', 'no seqs')
  expectReject(t, 'jobs', { ...examples.jobs[0], blocks: Array(20001).fill('b') }, '/blocks', '20001 blocks')
  expectReject(t, 'jobs', { ...examples.jobs[0], architectures: Array(2001).fill('a') }, '/architectures', '2001 architectures')
  expectReject(t, 'jobs', { ...examples.jobs[0], skip: Array(20001).fill('s') }, '/skip', '20001 skips')
  expectReject(t, 'info', { ...examples.info[0], runtimes: Array(9).fill(examples.info[0].runtimes[0]) }, '/runtimes', '9 runtimes')
  const info = clone(examples.info[0])
  info.inventory.gpus = Array(17).fill('gpu')
  expectReject(t, 'info', info, '/inventory/gpus', '17 gpus')
  // The same through decodeMessage (the path from the wire).
  const r = decodeMessage('acks', JSON.stringify({ ...examples.acks[0], seqs: Array.from({ length: 10001 }, (_, i) => i) }))
  t.equal(r.ok, false)
  if (!r.ok) t.match(r.reason, /^acks message: \/seqs: /)
  // At the maximum is fine.
  t.equal(checkMessage('results', { ...examples.results[0], measurements: Array(1000).fill(measurement) }).ok, true)
})

t.test('encodeMessage refuses invalid messages with a code', async (t) => {
  const bad = { ...examples.status[0], state: 'away' } as any
  t.throws(() => encodeMessage('status', bad), { code: 'FLEETNAS_ERR_PROTOCOL_INVALID_MESSAGE', statusCode: 500 })
  try {
    encodeMessage('jobs', { ...examples.jobs[0], threads: 0 } as any)
    t.fail('should throw')
  } catch (e) {
    t.ok(e instanceof FleetnasError)
    t.ok(isFleetnasError(e, InvalidOutboundMessage.code))
    t.match((e as Error).message, /jobs message: \/threads: /)
  }
  // Within every schema limit, yet larger than a receiver accepts: the sender must check the size
  // (the campaign scheduler does, and drops its skip list).
  const huge = { ...examples.jobs[0], blocks: Array(20000).fill('k'.repeat(100)) }
  t.equal(checkMessage('jobs', huge).ok, true, 'schema alone accepts it')
  const text = encodeMessage('jobs', huge)
  t.ok(Buffer.byteLength(text) > MAX_PAYLOAD_BYTES)
  t.equal(decodeMessage('jobs', text).ok, false, 'and the receiver drops it')
})

// MQTT hands over payloads that are views into a larger buffer (and Node's pool slices small ones):
// decodeMessage reads exactly the view's bytes, without copying them first.
t.test('decodeMessage reads a payload that is a view into a larger buffer', async (t) => {
  const text = JSON.stringify(examples.status[0])
  const whole = Buffer.from(`garbage before${text}garbage after`)
  const view = whole.subarray('garbage before'.length, 'garbage before'.length + Buffer.byteLength(text))
  t.same(decodeMessage('status', view), { ok: true, value: examples.status[0] })
  t.same(decodeMessage('status', new Uint8Array(view.buffer, view.byteOffset, view.byteLength)), { ok: true, value: examples.status[0] })
  t.match(decodeMessage('status', whole.subarray(0, 20)), { ok: false, reason: /^not JSON/ })
})
