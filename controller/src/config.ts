/**
 * Controller configuration: a written form (everything optional, from a file, flags or code) and a
 * resolved form (defaults applied). `resolveControllerConfig` validates once and reports every
 * problem together in one FLEETNAS_ERR_CONFIG_INVALID.
 */
import path from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ConfigInvalid } from './errors.ts'

const Port = Type.Integer({ minimum: 0, maximum: 65535 })
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const ControllerConfigInputSchema = Type.Object(
  {
    /** Where the SQLite database and the generated api-token live. Default ./data. */
    dataDir: Type.Optional(Type.String({ minLength: 1 })),
    /** Address the HTTP API and the embedded broker listen on. Default 127.0.0.1. */
    host: Type.Optional(Type.String({ minLength: 1 })),
    /** HTTP API port; 0 picks a free one. Default 8080. */
    httpPort: Type.Optional(Port),
    /** Embedded MQTT broker port; 0 picks a free one. Default 1883. Unused with `broker`. */
    mqttPort: Type.Optional(Port),
    /** External broker URL (mqtt://, mqtts://, ws://, wss://); when set no broker is embedded. */
    broker: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://' })),
    brokerUsername: Type.Optional(Type.String({ minLength: 1 })),
    brokerPassword: Type.Optional(Type.String()),
    /** Bearer token every /v1 route needs; also from FLEETNAS_API_TOKEN. */
    apiToken: Type.Optional(Type.String({ minLength: 8 })),
    /** No HTTP token and no broker authentication. Must be said explicitly. */
    insecure: Type.Optional(Type.Boolean()),
    logLevel: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))),
    campaignDefaults: Type.Optional(
      Type.Object(
        {
          /** An execution with no progress for this long times out (and is retried). */
          executionTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 7 * 24 * 3600_000 })),
          maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Share result ingest with other controller processes through the MQTT 5 shared subscription
     * `$share/<ingestGroup>/...` (external broker only: the embedded one speaks MQTT 3.1.1).
     */
    ingestGroup: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    /** Run the campaign scheduler (default true). In an ingest group exactly one process schedules; the others only ingest. */
    scheduling: Type.Optional(Type.Boolean()),
    /** The MQTT client id; default fleetnas-controller, and fleetnas-ingest-<host>-<pid> for a process that does not schedule. */
    mqttClientId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' })),
    /** Result ingest: per-device flood limit and the queue between MQTT and the store. */
    ingest: Type.Optional(
      Type.Object(
        {
          /** Messages a second one device may send, sustained. Default 50. */
          deviceRatePerS: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e6 })),
          /** Messages one device may send in a burst. Default 500. */
          deviceBurst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e7 })),
          /** Result batches stored per transaction at most. Default 500. */
          maxBatchesPerTransaction: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
          /** Queued batches past which MQTT deliveries are no longer acknowledged (the broker holds the rest). Default 2000. */
          queueHighWater: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** How often the scheduler looks for timed-out executions. Default 1000 ms. */
    schedulerIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
    /** A meta-trained supernet checkpoint (`fleetnas supernet train`): architecture requests need one. */
    supernet: Type.Optional(Type.String({ minLength: 1 })),
    /** How accuracy is estimated for architecture requests (per task shape, once per supernet). */
    accuracyEstimation: Type.Optional(
      Type.Object(
        {
          /** Sub-networks evaluated for real to fit the accuracy predictor. Default 48. */
          predictorSamples: Type.Optional(Type.Integer({ minimum: 10, maximum: 5000 })),
          /** Few-shot tasks per such evaluation. Default 25. */
          predictorTasks: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
          /** Threads for evaluation and fine-tuning (above 1: tasks in worker threads). Default 1. */
          threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

/** The written form: every field optional. */
export type ControllerConfigInput = Static<typeof ControllerConfigInputSchema>

/** The resolved form: defaults applied, paths absolute. */
export interface ControllerConfig {
  dataDir: string
  host: string
  httpPort: number
  mqttPort: number
  broker?: string
  brokerUsername?: string
  brokerPassword?: string
  apiToken?: string
  insecure: boolean
  logLevel: LogLevel
  campaignDefaults: { executionTimeoutMs: number; maxRetries: number }
  ingestGroup?: string
  scheduling: boolean
  mqttClientId?: string
  ingest: { deviceRatePerS: number; deviceBurst: number; maxBatchesPerTransaction: number; queueHighWater: number }
  schedulerIntervalMs: number
  supernet?: string
  accuracyEstimation: { predictorSamples: number; predictorTasks: number; threads: number }
}

export const CONFIG_DEFAULTS = {
  dataDir: './data',
  host: '127.0.0.1',
  httpPort: 8080,
  mqttPort: 1883,
  logLevel: 'info' as LogLevel,
  executionTimeoutMs: 10 * 60_000,
  maxRetries: 2,
  schedulerIntervalMs: 1000,
  deviceRatePerS: 50,
  deviceBurst: 500,
  maxBatchesPerTransaction: 500,
  queueHighWater: 2000,
  predictorSamples: 48,
  predictorTasks: 25,
}

const checkInput = TypeCompiler.Compile(ControllerConfigInputSchema)

/** Pure: validates the written form, applies defaults and the environment; throws every problem at once. */
export function resolveControllerConfig(input: ControllerConfigInput = {}, env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const problems = [...checkInput.Errors(input)].map((e) => `${e.path || '(root)'}: ${e.message}`)
  if (problems.length > 0) throw ConfigInvalid(problems)
  const apiToken = input.apiToken ?? (env.FLEETNAS_API_TOKEN || undefined)
  if (input.insecure && apiToken) problems.push('insecure: true and an apiToken (or FLEETNAS_API_TOKEN) contradict each other; drop one')
  if (apiToken !== undefined && apiToken.length < 8) problems.push('FLEETNAS_API_TOKEN: must be at least 8 characters')
  if (input.brokerPassword !== undefined && input.brokerUsername === undefined) problems.push('brokerPassword: given without brokerUsername')
  if (input.brokerUsername !== undefined && input.broker === undefined)
    problems.push('brokerUsername: only used with an external broker (set broker, or drop it for the embedded one)')
  if (input.ingestGroup !== undefined && input.broker === undefined)
    problems.push('ingestGroup: needs an external MQTT 5 broker (set broker): the embedded one has no shared subscriptions')
  if (input.scheduling === false && input.ingestGroup === undefined)
    problems.push('scheduling: false only makes sense in an ingest group (set ingestGroup), or nobody would take the results')
  if (problems.length > 0) throw ConfigInvalid(problems)
  return {
    dataDir: path.resolve(input.dataDir ?? CONFIG_DEFAULTS.dataDir),
    host: input.host ?? CONFIG_DEFAULTS.host,
    httpPort: input.httpPort ?? CONFIG_DEFAULTS.httpPort,
    mqttPort: input.mqttPort ?? CONFIG_DEFAULTS.mqttPort,
    broker: input.broker,
    brokerUsername: input.brokerUsername,
    brokerPassword: input.brokerPassword,
    apiToken,
    insecure: input.insecure ?? false,
    logLevel: input.logLevel ?? CONFIG_DEFAULTS.logLevel,
    campaignDefaults: {
      executionTimeoutMs: input.campaignDefaults?.executionTimeoutMs ?? CONFIG_DEFAULTS.executionTimeoutMs,
      maxRetries: input.campaignDefaults?.maxRetries ?? CONFIG_DEFAULTS.maxRetries,
    },
    ...(input.ingestGroup !== undefined && { ingestGroup: input.ingestGroup }),
    scheduling: input.scheduling ?? true,
    ...(input.mqttClientId !== undefined && { mqttClientId: input.mqttClientId }),
    ingest: {
      deviceRatePerS: input.ingest?.deviceRatePerS ?? CONFIG_DEFAULTS.deviceRatePerS,
      deviceBurst: input.ingest?.deviceBurst ?? CONFIG_DEFAULTS.deviceBurst,
      maxBatchesPerTransaction: input.ingest?.maxBatchesPerTransaction ?? CONFIG_DEFAULTS.maxBatchesPerTransaction,
      queueHighWater: input.ingest?.queueHighWater ?? CONFIG_DEFAULTS.queueHighWater,
    },
    schedulerIntervalMs: input.schedulerIntervalMs ?? CONFIG_DEFAULTS.schedulerIntervalMs,
    ...(input.supernet !== undefined && { supernet: path.resolve(input.supernet) }),
    accuracyEstimation: {
      predictorSamples: input.accuracyEstimation?.predictorSamples ?? CONFIG_DEFAULTS.predictorSamples,
      predictorTasks: input.accuracyEstimation?.predictorTasks ?? CONFIG_DEFAULTS.predictorTasks,
      threads: input.accuracyEstimation?.threads ?? 1,
    },
  }
}
