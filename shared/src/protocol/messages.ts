/**
 * Every fleetnas MQTT payload (protocol v1): JSON with `v`, validated on arrival by `decodeMessage`.
 *
 * StatusMessage   agent -> controller  devices/{id}/status (retained; also the Last Will)
 * InfoMessage     agent -> controller  devices/{id}/info (retained): inventory, runtimes, profile
 * JobMessage      controller -> agent  devices/{id}/jobs: blocks to measure with settings
 * CancelMessage   controller -> agent  devices/{id}/jobs: stop a job
 * JobStateMessage agent -> controller  devices/{id}/jobs/{jobId}/state: ACCEPTED .. SUCCEEDED
 * ResultsMessage  agent -> controller  devices/{id}/results: a batch of measurements (jobId, seq)
 * AckMessage      controller -> agent  devices/{id}/acks: which result batches are stored
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'

export const PROTOCOL_VERSION = 1
/** Larger payloads are refused before parsing. */
export const MAX_PAYLOAD_BYTES = 1 << 20

const V = Type.Literal(PROTOCOL_VERSION)
const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })
const Time = Type.String({ format: 'date-time', maxLength: 40 })
const Num = (opts = {}) => Type.Number({ minimum: 0, maximum: 1e9, ...opts })
export const RUNTIMES = ['onnxruntime', 'tfjs'] as const
export const RuntimeSchema = Type.Union(RUNTIMES.map((r) => Type.Literal(r)))
export type RuntimeName = (typeof RUNTIMES)[number]

export const StatusMessageSchema = Type.Object({
  v: V,
  deviceId: Id,
  state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  agentVersion: Type.String({ maxLength: 64 }),
  time: Time,
})

export const RuntimeInfoSchema = Type.Object({
  name: RuntimeSchema,
  version: Type.String({ maxLength: 64 }),
  /** onnxruntime: execution providers; tfjs: the backend in use (tensorflow, wasm, cpu). */
  backends: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 }),
})

export const InventorySchema = Type.Object({
  cpuModel: Type.String({ maxLength: 256 }),
  cpuVendor: Type.String({ maxLength: 128 }),
  cores: Type.Integer({ minimum: 0, maximum: 4096 }),
  physicalCores: Type.Integer({ minimum: 0, maximum: 4096 }),
  maxFrequencyMHz: Num(),
  memoryBytes: Num({ maximum: 1e15 }),
  os: Type.String({ maxLength: 256 }),
  arch: Type.String({ maxLength: 32 }),
  hostname: Type.String({ maxLength: 256 }),
  model: Type.String({ maxLength: 256 }),
  gpus: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 16 }),
  temperatureC: Type.Optional(Num({ maximum: 200 })),
})
export type Inventory = Static<typeof InventorySchema>

export const InfoMessageSchema = Type.Object({
  v: V,
  deviceId: Id,
  hardwareProfile: Id,
  inventory: InventorySchema,
  runtimes: Type.Array(RuntimeInfoSchema, { maxItems: 8 }),
  /** Thread count the agent measures with when a campaign names none. */
  threads: Type.Integer({ minimum: 1, maximum: 256 }),
  agentVersion: Type.String({ maxLength: 64 }),
  time: Time,
})

export const MeasureSettingsSchema = Type.Object({
  warmupRuns: Type.Integer({ minimum: 0, maximum: 10000 }),
  warmupMs: Type.Number({ minimum: 0, maximum: 60000 }),
  minRuns: Type.Integer({ minimum: 1, maximum: 100000 }),
  minTimeMs: Type.Number({ minimum: 0, maximum: 600000 }),
  maxRuns: Type.Integer({ minimum: 1, maximum: 1000000 }),
  /** Timed runs are spread over this many interleaved rounds. */
  rounds: Type.Integer({ minimum: 1, maximum: 100 }),
  /** A block whose coefficient of variation stays above this is re-measured, then flagged. */
  maxCv: Type.Number({ minimum: 0, maximum: 10 }),
  /** Re-measure the reference block after every this many blocks (drift detection). */
  referenceEvery: Type.Integer({ minimum: 0, maximum: 100000 }),
  /**
   * Each target is timed in this many windows at different times of the job (each with `rounds`
   * rounds and a passes-th of minRuns, minTimeMs and maxRuns), and its measurement pools them all:
   * the host's noise comes in spells of tens of seconds that one window's rounds share.
   * Absent (older controllers): 1.
   */
  passes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
})
export type MeasureSettings = Static<typeof MeasureSettingsSchema>

/** Tuned so the whole default space (~16k blocks) measures in under 30 min at 1 thread on a 2-core x86 VM. */
export const DEFAULT_MEASURE_SETTINGS: MeasureSettings = {
  warmupRuns: 5,
  warmupMs: 10,
  minRuns: 20,
  minTimeMs: 50,
  maxRuns: 2000,
  rounds: 3,
  maxCv: 0.05,
  referenceEvery: 50,
  passes: 1,
}

export const JobMessageSchema = Type.Object({
  v: V,
  type: Type.Literal('job'),
  jobId: Id,
  campaignId: Id,
  runtime: RuntimeSchema,
  threads: Type.Integer({ minimum: 1, maximum: 256 }),
  /** Canonical block keys (see blockKey); the agent builds each block from its key. */
  blocks: Type.Array(Type.String({ maxLength: 128 }), { minItems: 0, maxItems: 20000 }),
  /** Architecture ids measured whole (calibration for the latency model). */
  architectures: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 2000 })),
  settings: MeasureSettingsSchema,
  /** Blocks already stored for this job (a resumed job skips them). */
  skip: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 20000 })),
  /**
   * Lowest result-batch seq the agent may use for this job: set when the job is sent again and
   * batches of it are stored already, so an agent that lost its state (reinstalled, new disk) does
   * not reuse a stored (jobId, seq), which the controller would take for a duplicate and drop.
   */
  seqFrom: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 })),
  time: Time,
})

export const CancelMessageSchema = Type.Object({
  v: V,
  type: Type.Literal('cancel'),
  jobId: Id,
  time: Time,
})

export const JobCommandSchema = Type.Union([JobMessageSchema, CancelMessageSchema])

export const AGENT_JOB_STATES = ['ACCEPTED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED'] as const
export type AgentJobState = (typeof AGENT_JOB_STATES)[number]

export const JobStateMessageSchema = Type.Object({
  v: V,
  deviceId: Id,
  jobId: Id,
  state: Type.Union(AGENT_JOB_STATES.map((s) => Type.Literal(s))),
  progress: Type.Optional(Type.Object({ done: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }) })),
  reason: Type.Optional(Type.String({ maxLength: 2000 })),
  time: Time,
})

export const EnvironmentSchema = Type.Object({
  temperatureC: Type.Optional(Num({ maximum: 200 })),
  frequencyMHz: Type.Optional(Num()),
  throttled: Type.Optional(Type.Boolean()),
})

export const MeasurementSchema = Type.Object({
  /** Block key, architecture id (kind 'architecture') or 'empty' (session overhead). */
  key: Type.String({ minLength: 1, maxLength: 512 }),
  kind: Type.Union([Type.Literal('block'), Type.Literal('architecture'), Type.Literal('empty'), Type.Literal('reference')]),
  runtime: RuntimeSchema,
  /** onnxruntime: execution provider; tfjs: backend (tensorflow, wasm, cpu). */
  backend: Type.String({ maxLength: 64 }),
  threads: Type.Integer({ minimum: 1, maximum: 256 }),
  medianMs: Num(),
  /** 95% bootstrap interval of medianMs over rounds and samples, net of overheadMs (older agents omit it). */
  ciLowMs: Type.Optional(Num()),
  ciHighMs: Type.Optional(Num()),
  p10Ms: Num(),
  p90Ms: Num(),
  meanMs: Num(),
  stdMs: Num(),
  cv: Num(),
  samples: Type.Integer({ minimum: 1, maximum: 10000000 }),
  rounds: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** CV stayed above maxCv after re-measuring. */
  noisy: Type.Boolean(),
  /** Empty-session overhead already subtracted from the statistics above. */
  overheadMs: Type.Optional(Num()),
  /**
   * The net median is at or below 0: the target runs faster than the call overhead can resolve;
   * medianMs is then the gross median minus overhead clamped at 0, and the LUT must not present it
   * as a latency. Older agents omit it.
   */
  belowOverhead: Type.Optional(Type.Boolean()),
  before: Type.Optional(EnvironmentSchema),
  after: Type.Optional(EnvironmentSchema),
  time: Time,
})
export type Measurement = Static<typeof MeasurementSchema>

export const ResultsMessageSchema = Type.Object({
  v: V,
  deviceId: Id,
  jobId: Id,
  seq: Type.Integer({ minimum: 0, maximum: 1e9 }),
  measurements: Type.Array(MeasurementSchema, { minItems: 1, maxItems: 1000 }),
})

export const AckMessageSchema = Type.Object({
  v: V,
  jobId: Id,
  seqs: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 10000 }),
})

export type StatusMessage = Static<typeof StatusMessageSchema>
export type InfoMessage = Static<typeof InfoMessageSchema>
export type RuntimeInfo = Static<typeof RuntimeInfoSchema>
export type JobMessage = Static<typeof JobMessageSchema>
export type CancelMessage = Static<typeof CancelMessageSchema>
export type JobCommand = Static<typeof JobCommandSchema>
export type JobStateMessage = Static<typeof JobStateMessageSchema>
export type ResultsMessage = Static<typeof ResultsMessageSchema>
export type AckMessage = Static<typeof AckMessageSchema>

export const messageSchemas = {
  status: StatusMessageSchema,
  info: InfoMessageSchema,
  jobs: JobCommandSchema,
  jobState: JobStateMessageSchema,
  results: ResultsMessageSchema,
  acks: AckMessageSchema,
} satisfies Record<string, TSchema>

export type MessageKind = keyof typeof messageSchemas
export interface MessageOf {
  status: StatusMessage
  info: InfoMessage
  jobs: JobCommand
  jobState: JobStateMessage
  results: ResultsMessage
  acks: AckMessage
}
