/** What a user asks for when creating a campaign (the body of POST /v1/campaigns). */
import { Type, type Static } from '@sinclair/typebox'
import { BlockSpecSchema, MeasureSettingsSchema, RuntimeSchema } from '@fleetnas/shared'

const IdString = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })

export const CampaignInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** Blocks to measure; their canonical keys are what the jobs carry. */
    blocks: Type.Optional(Type.Array(BlockSpecSchema, { maxItems: 20000 })),
    /** Every block key of the default search space. */
    searchSpace: Type.Optional(Type.Literal('default')),
    /** Architecture ids measured whole (e.g. to check a prediction); see README "Search space". */
    architectures: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 2000 })),
    /**
     * A seeded set of `count` architectures of the default space (random, compact and uniform
     * networks interleaved: shared/src/space/calibration.ts), measured whole: the calibration set
     * the LUT's latency model is fitted on.
     */
    calibration: Type.Optional(
      Type.Object(
        { count: Type.Integer({ minimum: 1, maximum: 2000 }), seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })) },
        { additionalProperties: false },
      ),
    ),
    /** Also measure every block of those architectures (default true: the latency model needs both). */
    architectureBlocks: Type.Optional(Type.Boolean()),
    /** Measure a seeded random sample of this many of the search space's block keys (of `blocks` when no space is named); explicit blocks and architectures are not sampled. */
    sample: Type.Optional(Type.Integer({ minimum: 1, maximum: 20000 })),
    /** Seed of the sample (default 1). */
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
    targets: Type.Object(
      {
        devices: Type.Optional(Type.Array(IdString, { maxItems: 10000 })),
        hardwareProfiles: Type.Optional(Type.Array(IdString, { maxItems: 1000 })),
      },
      { additionalProperties: false },
    ),
    runtimes: Type.Optional(Type.Array(RuntimeSchema, { minItems: 1, maxItems: 2, uniqueItems: true })),
    /** Thread counts to measure with; default: each device's own `threads`. */
    threads: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 256 }), { minItems: 1, maxItems: 16, uniqueItems: true })),
    settings: Type.Optional(Type.Partial(MeasureSettingsSchema, { additionalProperties: false })),
    executionTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 7 * 24 * 3600_000 })),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
)
export type CampaignInput = Static<typeof CampaignInputSchema>
