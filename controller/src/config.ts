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
    schedulerIntervalMs: input.schedulerIntervalMs ?? CONFIG_DEFAULTS.schedulerIntervalMs,
    ...(input.supernet !== undefined && { supernet: path.resolve(input.supernet) }),
    accuracyEstimation: {
      predictorSamples: input.accuracyEstimation?.predictorSamples ?? CONFIG_DEFAULTS.predictorSamples,
      predictorTasks: input.accuracyEstimation?.predictorTasks ?? CONFIG_DEFAULTS.predictorTasks,
      threads: input.accuracyEstimation?.threads ?? 1,
    },
  }
}
