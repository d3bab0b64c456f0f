/** What a user asks for (the body of POST /v1/architectures). */
import { Type, type Static } from '@sinclair/typebox'
import { MeasureSettingsSchema, RuntimeSchema, type MeasureSettings } from '@fleetnas/shared'

const IdString = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })

export const ArchitectureRequestInputSchema = Type.Object(
  {
    /** The device class to search for; or name one device (its class, and its threads by default). */
    hardwareProfile: Type.Optional(IdString),
    deviceId: Type.Optional(IdString),
    runtime: Type.Optional(RuntimeSchema),
    threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    constraints: Type.Object(
      {
        latencyMs: Type.Number({ exclusiveMinimum: 0, maximum: 1e6, description: 'end-to-end latency of one call, predicted on the LUT' }),
        maxParams: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e10 })),
        /**
         * How sure the answer must be to run within latencyMs: the search holds the prediction plus
         * that quantile of the latency model's held-out errors within the budget (default 0.9; 0.5
         * is about the bare prediction).
         */
        latencyConfidence: Type.Optional(Type.Number({ minimum: 0.5, maximum: 0.99 })),
      },
      { additionalProperties: false },
    ),
    task: Type.Object(
      { way: Type.Integer({ minimum: 2, maximum: 100 }), shot: Type.Integer({ minimum: 1, maximum: 50 }) },
      { additionalProperties: false },
    ),
    search: Type.Optional(
      Type.Object(
        {
          population: Type.Optional(Type.Integer({ minimum: 4, maximum: 2000 })),
          generations: Type.Optional(Type.Integer({ minimum: 0, maximum: 500 })),
          seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Candidates of the front whose accuracy is confirmed by real few-shot evaluation (default 3). */
    confirm: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Few-shot tasks per confirmation (default 100). */
    confirmTasks: Type.Optional(Type.Integer({ minimum: 10, maximum: 2000 })),
    /**
     * Meta-iterations that fine-tune the chosen sub-network alone from its inherited weights (the
     * supernet's recipe and data; default 0 = serve the inherited weights).
     */
    finetune: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    /** Measure the chosen architecture whole on an online device of the class (default false). */
    verify: Type.Optional(Type.Boolean()),
    /** Measurement settings of the campaigns the request creates (missing blocks, verification); default the campaigns' defaults. */
    settings: Type.Optional(Type.Partial(MeasureSettingsSchema, { additionalProperties: false })),
  },
  { additionalProperties: false },
)
export type ArchitectureRequestInput = Static<typeof ArchitectureRequestInputSchema>

/** The request as resolved and stored: target LUT fixed, defaults applied. */
export interface ResolvedArchitectureRequest {
  hardwareProfile: string
  deviceId: string | null
  runtime: 'onnxruntime' | 'tfjs'
  threads: number
  /** latencyConfidence is absent from requests stored before it existed (they ran at the bare prediction). */
  constraints: { latencyMs: number; maxParams?: number; latencyConfidence?: number }
  task: { way: number; shot: number }
  search: { population?: number; generations?: number; seed: number }
  confirm: number
  confirmTasks: number
  finetune: number
  verify: boolean
  settings?: Partial<MeasureSettings>
}

/** The default share of calibration architectures whose measured latency the search's bound covers. */
export const DEFAULT_LATENCY_CONFIDENCE = 0.9
