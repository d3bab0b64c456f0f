/**
 * A seeded corpus of bad input for the controller, and what the controller must say about each:
 *
 * - `badMqttCorpus`: MQTT publishes (malformed JSON, oversized payloads, wrong types, missing
 *   fields, wrong protocol version, boundary numbers, huge arrays, unknown topics, wildcard-like or
 *   invalid ids in topics, payloads claiming another device's id, results for someone else's job,
 *   acks/jobs published by a device). Each says whether the controller's subscriptions let it in
 *   (`reaches`) and, if so, the topic kind and rejection reason its rejection counter must show;
 *   `disruptive` ones make a broker drop the connection (wildcards in a PUBLISH topic ...).
 * - `badHttpCorpus`: requests with invalid bodies (wrongly typed values included: bodies are not
 *   coerced), ids and query strings, each with the 4xx status,
 *   the FLEETNAS_ERR_* code and, for schema failures, the field the message must name.
 *
 * Same seed, same corpus. Nothing here talks to a network; the tests send and check.
 */
import {
  checkMessage,
  controllerSubscriptions,
  createRng,
  MAX_PAYLOAD_BYTES,
  type InfoMessage,
  type JobStateMessage,
  type Measurement,
  type MessageKind,
  type ResultsMessage,
  type Rng,
  type StatusMessage,
} from '@fleetnas/shared'

// ---- Prometheus text ----

/** Value of one exact series (`name{labels}` as rendered), or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  const hit = text.split('\n').find((l) => l.startsWith(series + ' '))
  return hit === undefined ? undefined : Number(hit.slice(series.length + 1))
}

/** Sum of every series of a metric family. */
export function metricsTotal(text: string, name: string): number {
  return metricSeries(text, name).reduce((s, x) => s + x.value, 0)
}

/** Every series of a family: labels string (`{a="x",b="y"}` or '') and value. */
export function metricSeries(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    const m = /^(\{.*\})? (\S+)$/.exec(rest)
    if (m) out.push({ labels: m[1] ?? '', value: Number(m[2]) })
  }
  return out
}

// ---- MQTT topic matching (MQTT 3.1.1 rules: + one level, # the rest, $-topics not by wildcards) ----

export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && !filter.startsWith('$')) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

const reachesController = (topic: string) => controllerSubscriptions.some((f) => topicMatches(f, topic))

// ---- the MQTT corpus ----

export type ExpectedReason = 'too_large' | 'not_json' | 'schema' | 'unknown_topic' | 'device_mismatch' | 'unknown_job'

export interface BadMqttMessage {
  /** Category and what was done, for failure messages. */
  what: string
  topic: string
  payload: string | Buffer
  /** The controller subscribes to the topic (so the message must be counted as rejected). */
  reaches: boolean
  /** When it reaches: the counter labels it must land on. */
  topicKind?: string
  reason?: ExpectedReason
  /** The broker drops the publishing connection for it (send it on a throwaway connection). */
  disruptive?: boolean
}

export interface MqttCorpusOptions {
  seed: number | string
  /** Messages in the corpus (disruptive ones come on top, a fixed few dozen). */
  count: number
  /** Devices the controller knows; bad messages use their ids too, to prove nothing changes. */
  knownDevices: string[]
  /** A real job and its device, so results can name a job that is someone else's. */
  job: { deviceId: string; jobId: string }
  /** Oversized payloads are slow to push; at most this many (default 6). */
  maxOversized?: number
}

const TIME = '2026-01-01T00:00:00.000Z'
const GOOD_KEY = 'conv-k3-s1-i8x8x8-o8x8x16-bn-relu'

export function measurement(key = GOOD_KEY): Measurement {
  return {
    key, kind: 'block', runtime: 'onnxruntime', backend: 'cpu', threads: 1,
    medianMs: 1, p10Ms: 0.9, p90Ms: 1.1, meanMs: 1, stdMs: 0.01, cv: 0.01, samples: 10, rounds: 1, noisy: false,
    before: { temperatureC: 40 }, time: TIME,
  }
}

export const validMessages = {
  status: (deviceId: string): StatusMessage => ({ v: 1, deviceId, state: 'online', agentVersion: '0.0.0-bad', time: TIME }),
  info: (deviceId: string): InfoMessage => ({
    v: 1, deviceId, hardwareProfile: 'x86-64',
    inventory: { cpuModel: 'x', cpuVendor: 'x', cores: 2, physicalCores: 2, maxFrequencyMHz: 1000, memoryBytes: 1e9, os: 'linux', arch: 'x64', hostname: 'h', model: 'm', gpus: [] },
    runtimes: [{ name: 'onnxruntime', version: '1', backends: ['cpu'] }], threads: 1, agentVersion: '0.0.0-bad', time: TIME,
  }),
  jobState: (deviceId: string, jobId: string): JobStateMessage => ({ v: 1, deviceId, jobId, state: 'IN_PROGRESS', progress: { done: 1, total: 2 }, time: TIME }),
  results: (deviceId: string, jobId: string, seq = 0): ResultsMessage => ({ v: 1, deviceId, jobId, seq, measurements: [measurement()] }),
}
type AgentKind = 'status' | 'info' | 'jobState' | 'results'
const AGENT_KINDS: AgentKind[] = ['status', 'info', 'jobState', 'results']

const topicOf = (kind: AgentKind, deviceId: string, jobId = 'j-1') =>
  kind === 'jobState' ? `fleetnas/v1/devices/${deviceId}/jobs/${jobId}/state` : `fleetnas/v1/devices/${deviceId}/${kind}`

/** Values no schema accepts at these paths; `ARR` is replaced by a huge array built on demand. */
const LONG = (n: number) => 'x'.repeat(n)
const BAD_IDS: unknown[] = ['', '-x', '.x', '_x', 'a b', 'a/b', 'a+b', 'a#', 'é', LONG(129), 5, null, {}, [], true]
const BAD_TIMES: unknown[] = ['yesterday', '2025-13-01T00:00:00Z', '2025-01-01', '2025-01-01 00:00:00Z', '', LONG(41), 1735689600000, null]
const BAD_V: unknown[] = [0, 2, -1, 1.5, '1', 'v1', null, true, {}, [1], 1e9]

interface FieldRule {
  path: (string | number)[]
  wrongType: unknown[]
  boundary: unknown[]
}

const RULES: Record<AgentKind, FieldRule[]> = {
  status: [
    { path: ['deviceId'], wrongType: [5, null, {}, []], boundary: BAD_IDS },
    { path: ['state'], wrongType: [1, null, {}, true], boundary: ['ONLINE', 'busy', '', 'online '] },
    { path: ['agentVersion'], wrongType: [1, null, {}, []], boundary: [LONG(65)] },
    { path: ['time'], wrongType: [5, null, {}], boundary: BAD_TIMES },
  ],
  info: [
    { path: ['deviceId'], wrongType: [5, null, {}], boundary: BAD_IDS },
    { path: ['hardwareProfile'], wrongType: [5, null, []], boundary: ['', '-p', 'p p', LONG(129)] },
    { path: ['inventory'], wrongType: [null, 'x', [], 5], boundary: [{}] },
    { path: ['inventory', 'cores'], wrongType: ['2', null, {}], boundary: [-1, 4097, 1.5, 1e300] },
    { path: ['inventory', 'memoryBytes'], wrongType: ['1', null], boundary: [-1, 1e15 + 1e6] },
    { path: ['inventory', 'gpus'], wrongType: ['gpu', null, {}, [5]], boundary: ['ARR17', [LONG(257)]] },
    { path: ['inventory', 'cpuModel'], wrongType: [5, null], boundary: [LONG(257)] },
    { path: ['runtimes'], wrongType: [{}, 'onnxruntime', null], boundary: ['ARR9', [{ name: 'tensorflow', version: '1', backends: [] }]] },
    { path: ['threads'], wrongType: ['1', null, {}], boundary: [0, 257, 2.5, -1] },
    { path: ['time'], wrongType: [5, null], boundary: BAD_TIMES },
  ],
  jobState: [
    { path: ['deviceId'], wrongType: [5, null, {}], boundary: BAD_IDS },
    { path: ['jobId'], wrongType: [5, null, {}], boundary: BAD_IDS },
    { path: ['state'], wrongType: [1, null, {}], boundary: ['DONE', 'QUEUED', 'succeeded', 'TIMED_OUT', ''] },
    { path: ['progress'], wrongType: ['half', 5, []], boundary: [{ done: -1, total: 1 }, { done: 1 }, { done: 1.5, total: 2 }] },
    { path: ['reason'], wrongType: [5, {}, []], boundary: [LONG(2001)] },
    { path: ['time'], wrongType: [5, null], boundary: BAD_TIMES },
  ],
  results: [
    { path: ['deviceId'], wrongType: [5, null, {}], boundary: BAD_IDS },
    { path: ['jobId'], wrongType: [5, null, {}], boundary: BAD_IDS },
    { path: ['seq'], wrongType: ['1', null, {}, []], boundary: [-1, 1e9 + 1, 0.5, 'INF'] },
    { path: ['measurements'], wrongType: [{}, 'x', null, 5], boundary: [[], 'ARR1001'] },
    { path: ['measurements', 0], wrongType: ['m', 5, null, []], boundary: [{}] },
    { path: ['measurements', 0, 'key'], wrongType: [5, null, {}], boundary: ['', LONG(513)] },
    { path: ['measurements', 0, 'kind'], wrongType: [1, null], boundary: ['blocky', 'Block', ''] },
    { path: ['measurements', 0, 'runtime'], wrongType: [1, null], boundary: ['tensorflow', 'ONNXRUNTIME', ''] },
    { path: ['measurements', 0, 'backend'], wrongType: [1, null], boundary: [LONG(65)] },
    { path: ['measurements', 0, 'threads'], wrongType: ['1', null], boundary: [0, 257, 1.5] },
    { path: ['measurements', 0, 'medianMs'], wrongType: ['1', null, {}], boundary: [-0.001, 1e9 + 1, 'INF', '-INF'] },
    { path: ['measurements', 0, 'cv'], wrongType: ['0', null], boundary: [-1e-9, 1e10] },
    { path: ['measurements', 0, 'samples'], wrongType: ['10', null], boundary: [0, 1e7 + 1, 2.5] },
    { path: ['measurements', 0, 'rounds'], wrongType: ['1', null], boundary: [0, 1001] },
    { path: ['measurements', 0, 'noisy'], wrongType: ['false', 0, null], boundary: [] },
    { path: ['measurements', 0, 'before', 'temperatureC'], wrongType: ['40', {}], boundary: [201, -1] },
    { path: ['measurements', 0, 'time'], wrongType: [5, null], boundary: BAD_TIMES },
  ],
}

const REQUIRED: Record<AgentKind, (string | number)[][]> = {
  status: [['v'], ['deviceId'], ['state'], ['agentVersion'], ['time']],
  info: [['v'], ['deviceId'], ['hardwareProfile'], ['inventory'], ['runtimes'], ['threads'], ['agentVersion'], ['time'], ['inventory', 'cores'], ['inventory', 'gpus']],
  jobState: [['v'], ['deviceId'], ['jobId'], ['state'], ['time']],
  results: [['v'], ['deviceId'], ['jobId'], ['seq'], ['measurements'], ['measurements', 0, 'key'], ['measurements', 0, 'medianMs'], ['measurements', 0, 'noisy'], ['measurements', 0, 'time']],
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

function setAt(obj: unknown, path: (string | number)[], value: unknown): void {
  let cur = obj as Record<string | number, unknown>
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>
  cur[path[path.length - 1]] = value
}

function deleteAt(obj: unknown, path: (string | number)[]): void {
  let cur = obj as Record<string | number, unknown>
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>
  delete cur[path[path.length - 1]]
}

/** Placeholders that JSON cannot carry as values: huge arrays, and numbers outside float64. */
function materialise(value: unknown): { value: unknown; raw?: string } {
  if (value === 'ARR17') return { value: Array.from({ length: 17 }, () => 'gpu') }
  if (value === 'ARR9') return { value: Array.from({ length: 9 }, () => ({ name: 'onnxruntime', version: '1', backends: ['cpu'] })) }
  if (value === 'ARR1001') return { value: Array.from({ length: 1001 }, () => measurement()) }
  if (value === 'INF') return { value: '__INF__', raw: '1e400' }
  if (value === '-INF') return { value: '__INF__', raw: '-1e400' }
  return { value }
}

export function badMqttCorpus(o: MqttCorpusOptions): BadMqttMessage[] {
  const rng = createRng(o.seed)
  const ghosts = Array.from({ length: 8 }, (_, i) => `ghost-${i}`)
  const anyDevice = () => (rng.next() < 0.4 ? rng.pick(o.knownDevices) : rng.pick(ghosts))
  const otherThan = (id: string) => {
    const pool = [...o.knownDevices, ...ghosts].filter((d) => d !== id)
    return rng.pick(pool)
  }
  const unknownJob = () => `nobody-s-job-${rng.int(1000)}`
  let oversized = 0
  const maxOversized = o.maxOversized ?? 6

  const schemaBad = (kind: AgentKind, deviceId: string, mutate: (m: Record<string, unknown>) => string | undefined, what: string): BadMqttMessage => {
    const jobId = kind === 'jobState' || kind === 'results' ? unknownJob() : undefined
    const base = clone(kind === 'status' ? validMessages.status(deviceId) : kind === 'info' ? validMessages.info(deviceId) : kind === 'jobState' ? validMessages.jobState(deviceId, jobId!) : validMessages.results(deviceId, jobId!)) as unknown as Record<string, unknown>
    const raw = mutate(base)
    const payload = raw ?? JSON.stringify(base)
    // A generator bug (a "bad" message the schema accepts) would make the counts meaningless.
    let parsed: unknown
    try {
      parsed = JSON.parse(payload)
    } catch {
      parsed = undefined
    }
    if (parsed !== undefined && checkMessage(kind as MessageKind, parsed).ok) throw new Error(`bad-input generator made a valid ${kind} message: ${what}`)
    return { what, topic: topicOf(kind, deviceId, jobId), payload, reaches: true, topicKind: kind, reason: 'schema' }
  }

  const generators: { weight: number; make: () => BadMqttMessage }[] = [
    {
      weight: 10,
      make: () => {
        // Malformed JSON: truncated, garbage, random bytes, not JSON at all.
        const kind = rng.pick(AGENT_KINDS)
        const id = anyDevice()
        const good = JSON.stringify(kind === 'results' ? validMessages.results(id, unknownJob()) : validMessages.status(id))
        const variants: (() => string | Buffer)[] = [
          () => good.slice(0, 1 + rng.int(good.length - 1)),
          () => good + '}',
          () => good.replace(/"/g, "'"),
          () => `{"v":1,}`,
          () => '{',
          () => '',
          () => 'NaN',
          () => 'undefined',
          () => `\uFEFF${good}`,
          () => good.replace(':', ''),
          () => Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => 128 + rng.int(128))),
          () => `{"v":1,"deviceId":"${id}","x":"\\u12"}`,
        ]
        const payload = rng.pick(variants)()
        let reason: ExpectedReason = 'not_json'
        try {
          JSON.parse(Buffer.isBuffer(payload) ? payload.toString('utf8') : payload)
          reason = 'schema' // random bytes that happen to be JSON
        } catch {
          // not JSON, as intended
        }
        return { what: 'malformed JSON', topic: topicOf(kind, id), payload, reaches: true, topicKind: kind, reason }
      },
    },
    {
      weight: 1,
      make: () => {
        const kind = rng.pick(AGENT_KINDS)
        const id = anyDevice()
        if (oversized >= maxOversized) return schemaBad(kind, id, (m) => void (m.v = 2), 'wrong protocol version (oversized quota used)')
        oversized++
        const filler = 'x'.repeat(MAX_PAYLOAD_BYTES + 1 + rng.int(1000))
        const payload = JSON.stringify({ ...validMessages.status(id), agentVersion: filler })
        return { what: 'oversized payload', topic: topicOf(kind, id), payload, reaches: true, topicKind: kind, reason: 'too_large' }
      },
    },
    {
      weight: 14,
      make: () => {
        const kind = rng.pick(AGENT_KINDS)
        const rule = rng.pick(RULES[kind])
        const bad = rng.pick(rule.wrongType)
        return schemaBad(kind, anyDevice(), (m) => void setAt(m, rule.path, bad), `wrong type at ${kind}/${rule.path.join('/')}: ${JSON.stringify(bad)}`)
      },
    },
    {
      weight: 10,
      make: () => {
        const kind = rng.pick(AGENT_KINDS)
        const path = rng.pick(REQUIRED[kind])
        return schemaBad(kind, anyDevice(), (m) => void deleteAt(m, path), `missing ${kind}/${path.join('/')}`)
      },
    },
    {
      weight: 8,
      make: () => {
        const kind = rng.pick(AGENT_KINDS)
        const v = rng.pick(BAD_V)
        return schemaBad(kind, anyDevice(), (m) => void (m.v = v), `wrong protocol version ${JSON.stringify(v)}`)
      },
    },
    {
      weight: 14,
      make: () => {
        const kind = rng.pick(AGENT_KINDS)
        const rule = rng.pick(RULES[kind].filter((r) => r.boundary.length > 0))
        const { value, raw } = materialise(rng.pick(rule.boundary))
        return schemaBad(
          kind,
          anyDevice(),
          (m) => {
            setAt(m, rule.path, value)
            return raw ? JSON.stringify(m).replace('"__INF__"', raw) : undefined
          },
          `boundary at ${kind}/${rule.path.join('/')}: ${raw ?? JSON.stringify(value).slice(0, 40)}`,
        )
      },
    },
    {
      weight: 6,
      make: () => {
        // Valid JSON that is not an object at all, or an object of the wrong shape.
        const kind = rng.pick(AGENT_KINDS)
        const payload = rng.pick(['[]', 'null', '42', '"status"', 'true', '{}', '{"__proto__":{"v":1}}', '{"constructor":{"prototype":{"v":1}}}', JSON.stringify(nested(2000))])
        return { what: `not a message object: ${payload.slice(0, 30)}`, topic: topicOf(kind, anyDevice()), payload, reaches: true, topicKind: kind, reason: 'schema' }
      },
    },
    {
      weight: 8,
      make: () => {
        // Topics inside the controller's subscriptions whose ids are not ids (empty ones: see disruptiveMqttCorpus).
        const kind = rng.pick(AGENT_KINDS)
        const badId = rng.pick(['-x', '.x', 'a b', 'é', LONG(129), '$x', '%2B', 'a%2Fb', '*', '..', '~'])
        const topic = kind === 'jobState' && rng.next() < 0.5 ? topicOf('jobState', anyDevice(), badId) : topicOf(kind, badId)
        return { what: `invalid id in topic ${JSON.stringify(topic)}`, topic, payload: JSON.stringify(validMessages.status('ghost-0')), reaches: true, topicKind: 'unknown', reason: 'unknown_topic' }
      },
    },
    {
      weight: 5,
      make: () => {
        // Topics outside the protocol and outside the controller's subscriptions: nobody hears them.
        const id = rng.pick(ghosts)
        const topic = rng.pick([
          `fleetnas/v1/devices/${id}/other`, `fleetnas/v1/devices/${id}/status/extra`, `fleetnas/v2/devices/${id}/status`,
          `fleetnas/v1/device/${id}/status`, `Fleetnas/v1/devices/${id}/status`, `fleetnas/v1/devices/${id}/jobs/j-1/state/x`,
          `fleetnas/v1/devices/${id}`, 'fleetnas/v1', 'elsewhere/topic', `fleetnas/v1/devices/${id}/status `,
        ])
        return { what: `unknown topic ${topic}`, topic, payload: JSON.stringify(validMessages.status(id)), reaches: reachesController(topic), topicKind: 'unknown', reason: 'unknown_topic' }
      },
    },
    {
      weight: 4,
      make: () => {
        // A device publishing what only the controller may: jobs and acks (to ghosts: a real agent would act on them).
        const id = rng.pick(ghosts)
        const jobs = rng.next() < 0.5
        const payload = jobs
          ? JSON.stringify({ v: 1, type: 'cancel', jobId: o.job.jobId, time: TIME })
          : JSON.stringify({ v: 1, jobId: o.job.jobId, seqs: [0, 1, 2] })
        const topic = `fleetnas/v1/devices/${id}/${jobs ? 'jobs' : 'acks'}`
        return { what: `${jobs ? 'job' : 'ack'} published by a device`, topic, payload, reaches: reachesController(topic) }
      },
    },
    {
      weight: 12,
      make: () => {
        // Well-formed, but claiming another device's id (payload vs topic), or a job that is not theirs.
        const kind = rng.pick(AGENT_KINDS)
        const topicDevice = anyDevice()
        const claimed = otherThan(topicDevice)
        const job = rng.next() < 0.5 ? o.job.jobId : unknownJob()
        const msg = kind === 'status' ? validMessages.status(claimed) : kind === 'info' ? validMessages.info(claimed) : kind === 'jobState' ? validMessages.jobState(claimed, job) : validMessages.results(claimed, job, rng.int(100))
        return { what: `${kind} claiming ${claimed} on ${topicDevice}'s topic`, topic: topicOf(kind, topicDevice, job), payload: JSON.stringify(msg), reaches: true, topicKind: kind, reason: 'device_mismatch' }
      },
    },
    {
      weight: 8,
      make: () => {
        // Results or job state for a job that is someone else's or nobody's, on the sender's own topic.
        const kind = rng.pick(['jobState', 'results'] as const)
        const device = otherThan(o.job.deviceId)
        const job = rng.next() < 0.5 ? o.job.jobId : unknownJob()
        if (kind === 'jobState' && rng.next() < 0.3) {
          // The topic names another job than the payload.
          const msg = validMessages.jobState(device, job)
          return { what: 'job state whose topic names another job', topic: topicOf('jobState', device, `${job}-x`), payload: JSON.stringify(msg), reaches: true, topicKind: kind, reason: 'device_mismatch' }
        }
        const msg = kind === 'jobState' ? validMessages.jobState(device, job) : validMessages.results(device, job, rng.int(100))
        return { what: `${kind} of ${device} for ${job === o.job.jobId ? `${o.job.deviceId}'s` : 'an unknown'} job`, topic: topicOf(kind, device, job), payload: JSON.stringify(msg), reaches: true, topicKind: kind, reason: 'unknown_job' }
      },
    },
  ]

  const total = generators.reduce((s, g) => s + g.weight, 0)
  const pickGenerator = (r: Rng) => {
    let x = r.next() * total
    for (const g of generators) if ((x -= g.weight) < 0) return g
    return generators[generators.length - 1]
  }
  const corpus: BadMqttMessage[] = []
  for (let i = 0; i < o.count; i++) corpus.push(pickGenerator(rng).make())
  // An empty topic level is refused by the broker, which closes the sender's connection.
  const empty = corpus.find((m) => m.topic.split('/').includes(''))
  if (empty) throw new Error(`bad-input generator put an empty-level topic in the main corpus: ${empty.topic}`)
  return corpus
}

function nested(depth: number): unknown {
  let v: unknown = { v: 1 }
  for (let i = 0; i < depth; i++) v = { a: v }
  return v
}

/**
 * Publishes a broker refuses outright by closing the connection (one per throwaway connection).
 * `refused`: the embedded broker's own check refuses and counts it (an empty topic level); the others
 * fail aedes' protocol checks before any hook runs.
 */
export function disruptiveMqttCorpus(): (BadMqttMessage & { refused: boolean })[] {
  const empty = ['/fleetnas/v1/devices/ghost-1/status', 'fleetnas/v1/devices/ghost-1/status/', 'fleetnas/v1/devices//status', 'fleetnas/v1/devices//info', 'fleetnas/v1/devices//results', 'fleetnas/v1/devices/ghost-1/jobs//state', 'fleetnas/v1/devices//jobs//state']
  const status = JSON.stringify(validMessages.status('ghost-1'))
  const refused = empty.map((topic) => ({ what: `empty level in topic ${topic}`, topic, payload: status, reaches: false, disruptive: true, refused: true }))
  const topics = [
    'fleetnas/v1/devices/+/status', 'fleetnas/v1/devices/#', 'fleetnas/v1/devices/ghost-1/+', 'fleetnas/v1/devices/+/jobs/+/state',
    '#', '+', 'fleetnas/+/devices/ghost-1/results', 'fleetnas/v1/devices/ghost-1/results/#',
    Array.from({ length: 200 }, () => 'a').join('/'),
  ]
  return [...refused, ...topics.map((topic) => ({ what: `wildcard or over-deep topic in PUBLISH: ${topic.slice(0, 40)}`, topic, payload: status, reaches: false, disruptive: true, refused: false }))]
}

// ---- the HTTP corpus ----

export interface BadHttpRequest {
  what: string
  method: string
  url: string
  headers?: Record<string, string>
  body?: string | Buffer
  status: number
  code: string
  /** For schema failures: the field path the message must name (e.g. body/targets/devices/0). */
  field?: string
}

export interface HttpCorpusOptions {
  seed: number | string
  count: number
  /** A known device (campaign targets must still fail on other grounds). */
  knownDevice: string
  /** A hardware profile with no LUT. */
  missingProfile?: string
}

const JSON_HEADERS = { 'content-type': 'application/json' }

export function badHttpCorpus(o: HttpCorpusOptions): BadHttpRequest[] {
  const rng = createRng(o.seed)
  // Explicit blocks, not searchSpace: listing the default space costs ~200 ms per request, which would
  // dominate the run for the bodies that pass the schema and fail later (see the report).
  const block = { op: 'conv', kernel: 3, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 16 }
  const validCampaign = () => ({ name: `bad-${rng.int(1e6)}`, blocks: [block], sample: 3, targets: { devices: [o.knownDevice] }, runtimes: ['onnxruntime'], settings: { minRuns: 1 } })
  const post = (what: string, body: unknown, status: number, code: string, field?: string): BadHttpRequest => ({
    what, method: 'POST', url: '/v1/campaigns', headers: JSON_HEADERS, body: JSON.stringify(body), status, code, field,
  })
  const V = 'FLEETNAS_ERR_HTTP_VALIDATION'
  // Schema failures on the campaign body: [path, bad values].
  const campaignFields: [string[], unknown[]][] = [
    [['name'], [{}, '', LONG(201), null]],
    [['searchSpace'], ['other', {}, 'DEFAULT']],
    [['sample'], [0, -1, 20001, 1.5, 'abc', {}]],
    [['seed'], [-1, 2 ** 32, 0.5, 'x']],
    [['targets'], ['x', null, 5, []]],
    [['targets', 'devices'], [{}, ['a b'], [''], ['-x'], [LONG(129)]]],
    [['targets', 'hardwareProfiles'], [{}, ['p/q'], ['']]],
    [['targets', 'extra'], [1]],
    [['runtimes'], [[], ['tensorflow'], ['onnxruntime', 'onnxruntime'], ['onnxruntime', 'tfjs', 'onnxruntime'], {}]],
    [['threads'], [[], [0], [257], [1, 1], [1.5], Array.from({ length: 17 }, (_, i) => i + 1), {}]],
    [['settings'], ['fast', 5]],
    [['settings', 'warmupRuns'], [-1, 10001, 1.5, 'x']],
    [['settings', 'minRuns'], [0, 100001]],
    [['settings', 'maxCv'], [-0.1, 11, 'x']],
    [['settings', 'rounds'], [0, 101]],
    [['settings', 'bogus'], [1]],
    [['executionTimeoutMs'], [99, 7 * 24 * 3600_000 + 1, 1.5, 'x']],
    [['maxRetries'], [-1, 101, 'x']],
    [['blocks'], [{}, 'x', [{}], [{ op: 'conv' }], [{ op: 'nope', kernel: 3, stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 16 }]]],
    [['unknownField'], [1]],
  ]
  // Wrongly typed values that ajv's default coercion used to turn into valid ones ("5" -> 5,
  // null -> 0, [x] -> x, x -> [x]), so the request was taken as something the client did not send.
  const coercibleFields: [string[], unknown[]][] = [
    [['name'], [5, true, ['bad-x']]],
    [['sample'], ['3', true, [3]]],
    [['seed'], ['1', null, false]],
    [['targets', 'devices'], [o.knownDevice]],
    [['runtimes'], ['onnxruntime']],
    [['threads'], [1, '1', ['1']]],
    [['settings', 'minRuns'], ['1', true]],
    [['settings', 'maxCv'], ['0.5', null]],
    [['executionTimeoutMs'], ['60000']],
    [['maxRetries'], ['2', null, false]],
  ]

  const generators: { weight: number; make: () => BadHttpRequest }[] = [
    {
      weight: 30,
      make: () => {
        const [path, values] = rng.pick(campaignFields)
        const value = rng.pick(values)
        const body = validCampaign() as Record<string, unknown>
        setAt(body, path, value)
        // additionalProperties failures name the parent and the property; others the path itself.
        const field = `body/${path.join('/')}`
        return post(`campaign ${path.join('/')} = ${JSON.stringify(value)?.slice(0, 40)}`, body, 400, V, field)
      },
    },
    {
      weight: 10,
      make: () => {
        const [path, values] = rng.pick(coercibleFields)
        const value = rng.pick(values)
        const body = validCampaign() as Record<string, unknown>
        setAt(body, path, value)
        // ['1'] for threads fails on its item; everything else on the field itself.
        const field = `body/${path.join('/')}${Array.isArray(value) && path[0] === 'threads' ? '/0' : ''}`
        return post(`campaign ${path.join('/')} = ${JSON.stringify(value)} (coercible)`, body, 400, V, field)
      },
    },
    {
      weight: 8,
      make: () => {
        const required = rng.pick(['name', 'targets'])
        const body = validCampaign() as Record<string, unknown>
        delete body[required]
        return post(`campaign without ${required}`, body, 400, V, `body/${required}`)
      },
    },
    {
      weight: 8,
      make: () => {
        // Schema-valid, semantically impossible: each has its own code; nothing may be created.
        const body = validCampaign() as Record<string, unknown>
        const variant = rng.int(5)
        if (variant === 0) {
          ;(body.targets as { devices: string[] }).devices = [`ghost-${rng.int(1000)}`]
          return post('campaign for an unknown device', body, 400, 'FLEETNAS_ERR_CAMPAIGN_UNKNOWN_DEVICE')
        }
        if (variant === 1) {
          body.targets = {}
          return post('campaign with empty targets', body, 409, 'FLEETNAS_ERR_CAMPAIGN_NO_TARGETS')
        }
        if (variant === 2) {
          body.targets = { hardwareProfiles: [`no-such-profile-${rng.int(100)}`] }
          return post('campaign for a profile nobody has', body, 409, 'FLEETNAS_ERR_CAMPAIGN_NO_TARGETS')
        }
        if (variant === 3) {
          delete body.blocks
          return post('campaign without blocks or search space', body, 400, 'FLEETNAS_ERR_CAMPAIGN_NO_BLOCKS')
        }
        body.blocks = [{ op: 'conv', kernel: rng.pick([2, 4, 6]), stride: 1, pool: false, input: { h: 8, w: 8, c: 8 }, outChannels: 16 }]
        return post('campaign with an impossible block', body, 400, 'FLEETNAS_ERR_CAMPAIGN_BLOCK_INVALID')
      },
    },
    {
      weight: 8,
      make: () => {
        const good = JSON.stringify(validCampaign())
        const body = rng.pick([good.slice(0, 1 + rng.int(good.length - 2)), `${good}x`, good.replace(/"/g, "'"), '{', 'NaN', '{"__proto__":{"name":"x"}}', '{"constructor":{"prototype":{"admin":true}}}'])
        return { what: `malformed JSON body ${body.slice(0, 30)}`, method: 'POST', url: '/v1/campaigns', headers: JSON_HEADERS, body, status: 400, code: 'FLEETNAS_ERR_HTTP_BAD_REQUEST' }
      },
    },
    {
      weight: 4,
      make: () => {
        const body = rng.pick(['[]', 'null', '42', '"campaign"', 'true'])
        return { what: `JSON body that is not an object: ${body}`, method: 'POST', url: '/v1/campaigns', headers: JSON_HEADERS, body, status: 400, code: V, field: 'body' }
      },
    },
    {
      weight: 3,
      make: () => {
        const variant = rng.int(3)
        if (variant === 0) return { what: 'empty JSON body', method: 'POST', url: '/v1/campaigns', headers: JSON_HEADERS, body: '', status: 400, code: 'FLEETNAS_ERR_HTTP_BAD_REQUEST' }
        const type = rng.pick(['application/xml', 'application/x-www-form-urlencoded', 'image/png', 'multipart/form-data; boundary=x'])
        return { what: `body as ${type}`, method: 'POST', url: '/v1/campaigns', headers: { 'content-type': type }, body: JSON.stringify(validCampaign()), status: 415, code: 'FLEETNAS_ERR_HTTP_MEDIA_TYPE' }
      },
    },
    {
      weight: 12,
      make: () => {
        // Ids nobody has (any shape the router lets through): 404 with the area's code.
        const id = rng.pick([`c-${rng.int(1e9).toString(16)}`, 'x', '..%2F..%2Fetc%2Fpasswd', '%00', 'a%2Fb', '%20', "'%20OR%201=1--", 'null', 'undefined', '%F0%9F%92%A9', LONG(90)])
        const variant = rng.int(4)
        if (variant === 0) return { what: `campaign ${id}`, method: 'GET', url: `/v1/campaigns/${id}`, status: 404, code: 'FLEETNAS_ERR_CAMPAIGN_NOT_FOUND' }
        if (variant === 1) return { what: `cancel campaign ${id}`, method: 'POST', url: `/v1/campaigns/${id}/cancel`, status: 404, code: 'FLEETNAS_ERR_CAMPAIGN_NOT_FOUND' }
        if (variant === 2) return { what: `device ${id}`, method: 'GET', url: `/v1/devices/${id}`, status: 404, code: 'FLEETNAS_ERR_DEVICE_NOT_FOUND' }
        return { what: `LUT of ${id}`, method: 'GET', url: `/v1/luts/${id}`, status: 404, code: 'FLEETNAS_ERR_LUT_NOT_FOUND' }
      },
    },
    {
      weight: 5,
      make: () => {
        // Malformed or overlong path parameters: the router refuses them, still with a fleetnas code.
        const url = rng.pick([`/v1/campaigns/%`, `/v1/campaigns/%E0%A4%A`, `/v1/devices/%zz`, `/v1/luts/%`])
        if (rng.next() < 0.5) return { what: `malformed URL ${url}`, method: 'GET', url, status: 400, code: 'FLEETNAS_ERR_HTTP_BAD_REQUEST' }
        const long = LONG(101 + rng.int(400))
        return { what: 'path parameter longer than the router allows', method: 'GET', url: `/v1/${rng.pick(['campaigns', 'devices', 'luts'])}/${long}`, status: 414, code: 'FLEETNAS_ERR_HTTP_URI_TOO_LONG' }
      },
    },
    {
      weight: 8,
      make: () => {
        // Device credentials for ids that are not ids (or reserved): refused, nothing created.
        const id = rng.pick(['a%20b', '-x', '.x', '_x', 'a%2Bb', 'a%23', '%C3%A9', 'fleetnas-controller', 'a%2Fb', '%24x'])
        return { what: `credentials for ${id}`, method: 'POST', url: `/v1/devices/${id}/credentials`, status: 400, code: 'FLEETNAS_ERR_DEVICE_ID_INVALID' }
      },
    },
    {
      weight: 10,
      make: () => {
        const [param, value] = rng.pick([
          ['threads', '0'], ['threads', '257'], ['threads', 'abc'], ['threads', '1.5'], ['threads', '-1'], ['threads', '1e3'],
          ['runtime', 'tensorflow'], ['runtime', ''], ['runtime', '%FF'], ['runtime', 'ONNXRUNTIME'],
          ['format', 'xml'], ['format', 'CSV'], ['backend', LONG(65)],
        ] as const)
        return { what: `LUT query ${param}=${value.slice(0, 20)}`, method: 'GET', url: `/v1/luts/${o.missingProfile ?? 'x86-64'}?${param}=${value}`, status: 400, code: V, field: `querystring/${param}` }
      },
    },
    {
      weight: 5,
      make: () => {
        const [method, url] = rng.pick([
          ['DELETE', '/v1/devices'], ['PUT', '/v1/campaigns'], ['PATCH', `/v1/campaigns/c-1`], ['GET', '/v1/nothing'], ['GET', '/v2/devices'],
          ['GET', '/v1//devices'], ['POST', '/v1/luts'], ['DELETE', '/v1/campaigns/c-1'], ['GET', '/v1/campaigns/c-1/cancel'], ['POST', '/metrics'],
        ] as const)
        return { what: `no route ${method} ${url}`, method, url, status: 404, code: 'FLEETNAS_ERR_HTTP_NOT_FOUND' }
      },
    },
  ]

  const total = generators.reduce((s, g) => s + g.weight, 0)
  const corpus: BadHttpRequest[] = []
  for (let i = 0; i < o.count; i++) {
    let x = rng.next() * total
    let g = generators[generators.length - 1]
    for (const c of generators) if ((x -= c.weight) < 0) {
      g = c
      break
    }
    corpus.push(g.make())
  }
  // A few over the whole default space, refused on their targets before the space is listed, and a
  // few bodies above the 8 MiB limit.
  for (let i = 0; i < 3; i++) {
    const { blocks: _, ...rest } = validCampaign()
    corpus.push(post('space campaign for an unknown device', { ...rest, searchSpace: 'default', targets: { devices: [`ghost-${i}`] } }, 400, 'FLEETNAS_ERR_CAMPAIGN_UNKNOWN_DEVICE'))
    corpus.push(post('space campaign for a profile nobody has', { ...rest, searchSpace: 'default', targets: { hardwareProfiles: [`nobody-${i}`] } }, 409, 'FLEETNAS_ERR_CAMPAIGN_NO_TARGETS'))
  }
  for (let i = 0; i < 3; i++)
    corpus.push({ what: 'body above the size limit', method: 'POST', url: '/v1/campaigns', headers: JSON_HEADERS, body: JSON.stringify({ ...validCampaign(), name: LONG(9 << 20) }), status: 413, code: 'FLEETNAS_ERR_HTTP_TOO_LARGE' })
  return corpus
}
