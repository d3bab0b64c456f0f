/**
 * A block is the unit that agents measure and LUTs hold: one searchable layer group with a fixed
 * input shape. Its canonical key (`blockKey`) is the only way a LUT row is named, on the agent and
 * on the controller alike, e.g. `conv-k3-s1-i28x28x16-o28x28x32-bn-relu`.
 */
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { InvalidSpec } from '../errors.ts'

export const BLOCK_OPS = ['conv', 'dwsep', 'mbconv'] as const
export type BlockOp = (typeof BLOCK_OPS)[number]

export interface Shape3 {
  h: number
  w: number
  c: number
}

export const Shape3Schema = Type.Object(
  {
    h: Type.Integer({ minimum: 1, maximum: 1024 }),
    w: Type.Integer({ minimum: 1, maximum: 1024 }),
    c: Type.Integer({ minimum: 1, maximum: 4096 }),
  },
  { additionalProperties: false },
)

export const LayerBlockSchema = Type.Object(
  {
    op: Type.Union(BLOCK_OPS.map((op) => Type.Literal(op))),
    kernel: Type.Integer({ minimum: 1, maximum: 7 }),
    stride: Type.Union([Type.Literal(1), Type.Literal(2)]),
    /** mbconv only: channel expansion of the 1x1 expand conv. */
    expand: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
    /** 2x2 max-pool (stride 2) after the block. */
    pool: Type.Boolean(),
    input: Shape3Schema,
    outChannels: Type.Integer({ minimum: 1, maximum: 4096 }),
  },
  { additionalProperties: false },
)

export const HeadBlockSchema = Type.Object(
  {
    op: Type.Literal('head'),
    input: Shape3Schema,
    classes: Type.Integer({ minimum: 2, maximum: 4096 }),
  },
  { additionalProperties: false },
)

export const BlockSpecSchema = Type.Union([LayerBlockSchema, HeadBlockSchema])

export type LayerBlockSpec = Static<typeof LayerBlockSchema>
export type HeadBlockSpec = Static<typeof HeadBlockSchema>
export type BlockSpec = Static<typeof BlockSpecSchema>

export function isHead(b: BlockSpec): b is HeadBlockSpec {
  return b.op === 'head'
}

/** `floor((h + 2p - k) / s) + 1` with same-padding p = floor(k / 2). */
export function convOut(size: number, kernel: number, stride: number): number {
  const pad = Math.floor(kernel / 2)
  return Math.floor((size + 2 * pad - kernel) / stride) + 1
}

/** 2x2 max-pool, stride 2, no padding (the Conv4 convention: 28 -> 14 -> 7 -> 3 -> 1). */
export function poolOut(size: number): number {
  return Math.floor(size / 2)
}

/** Shape after the block's convolutions, before its optional pool. */
export function convOutputShape(b: LayerBlockSpec): Shape3 {
  return { h: convOut(b.input.h, b.kernel, b.stride), w: convOut(b.input.w, b.kernel, b.stride), c: b.outChannels }
}

export function outputShape(b: BlockSpec): Shape3 {
  if (isHead(b)) return { h: 1, w: 1, c: b.classes }
  const conv = convOutputShape(b)
  return b.pool ? { h: poolOut(conv.h), w: poolOut(conv.w), c: conv.c } : conv
}

/** mbconv adds its input back when the shapes allow it (stride 1, same channels). */
export function hasResidual(b: LayerBlockSpec): boolean {
  return b.op === 'mbconv' && b.stride === 1 && b.input.c === b.outChannels
}

export function expandedChannels(b: LayerBlockSpec): number {
  return b.input.c * (b.expand ?? 1)
}

export function checkBlock(b: BlockSpec): BlockSpec {
  // Ranges first (zero sizes, one-class heads, huge kernels), against the schema of b's own kind.
  const schema = isHead(b) ? HeadBlockSchema : LayerBlockSchema
  const bad = Value.Errors(schema, b).First()
  if (bad) throw InvalidSpec(`block ${bad.path || '(root)'}: ${bad.message}`)
  if (isHead(b)) return b
  if (b.kernel % 2 === 0) throw InvalidSpec(`kernel must be odd, got ${b.kernel}`)
  if (b.op === 'mbconv' && b.expand === undefined) throw InvalidSpec('mbconv needs expand')
  if (b.op !== 'mbconv' && b.expand !== undefined) throw InvalidSpec(`${b.op} takes no expand`)
  const conv = convOutputShape(b)
  if (b.pool && (conv.h < 2 || conv.w < 2)) throw InvalidSpec(`cannot max-pool a ${conv.h}x${conv.w} map`)
  return b
}

const shapeKey = (s: Shape3) => `${s.h}x${s.w}x${s.c}`

/** The canonical LUT key of a block. Agent and controller both name rows with this alone. */
export function blockKey(b: BlockSpec): string {
  if (isHead(b)) return `head-gap-fc-i${shapeKey(b.input)}-o${b.classes}`
  const parts: string[] = [b.op]
  if (b.op === 'mbconv') parts.push(`e${b.expand}`)
  parts.push(`k${b.kernel}`, `s${b.stride}`, `i${shapeKey(b.input)}`, `o${shapeKey(outputShape(b))}`, 'bn', 'relu')
  if (hasResidual(b)) parts.push('res')
  if (b.pool) parts.push('maxpool')
  return parts.join('-')
}

/**
 * The LUT key of the empty graph on an input of this shape: its time is one call's overhead, which
 * the agent subtracts from every target of that input shape and the latency model adds back once.
 */
export function emptyKey(input: Shape3): string {
  return `empty-i${shapeKey(input)}`
}

const KEY_RE = /^(conv|dwsep|mbconv)(?:-e(\d+))?-k(\d+)-s([12])-i(\d+)x(\d+)x(\d+)-o(\d+)x(\d+)x(\d+)-bn-relu(-res)?(-maxpool)?$/
const HEAD_RE = /^head-gap-fc-i(\d+)x(\d+)x(\d+)-o(\d+)$/

/** Inverse of `blockKey`; throws FLEETNAS_ERR_SPEC_INVALID for anything it did not make. */
export function parseBlockKey(key: string): BlockSpec {
  const head = HEAD_RE.exec(key)
  if (head) {
    const [, h, w, c, n] = head.map(Number)
    const spec: HeadBlockSpec = { op: 'head', input: { h, w, c }, classes: n }
    checkBlock(spec)
    if (blockKey(spec) !== key) throw InvalidSpec(`inconsistent block key: ${key} (expected ${blockKey(spec)})`)
    return spec
  }
  const m = KEY_RE.exec(key)
  if (!m) throw InvalidSpec(`not a block key: ${JSON.stringify(key)}`)
  const op = m[1] as BlockOp
  const spec: LayerBlockSpec = {
    op,
    kernel: Number(m[3]),
    stride: Number(m[4]) as 1 | 2,
    pool: m[12] !== undefined,
    input: { h: Number(m[5]), w: Number(m[6]), c: Number(m[7]) },
    outChannels: Number(m[10]),
  }
  if (m[2] !== undefined) spec.expand = Number(m[2])
  checkBlock(spec)
  if (blockKey(spec) !== key) throw InvalidSpec(`inconsistent block key: ${key} (expected ${blockKey(spec)})`)
  return spec
}

/** Multiply-accumulate count, for FLOP figures and latency-model features. */
export function blockMacs(b: BlockSpec): number {
  if (isHead(b)) return b.input.c * b.classes + b.input.h * b.input.w * b.input.c
  const { h, w } = convOutputShape(b)
  const k2 = b.kernel * b.kernel
  const cin = b.input.c
  const cout = b.outChannels
  switch (b.op) {
    case 'conv':
      return h * w * cout * cin * k2
    case 'dwsep':
      return h * w * cin * k2 + h * w * cin * cout
    case 'mbconv': {
      const e = expandedChannels(b)
      return b.input.h * b.input.w * cin * e + h * w * e * k2 + h * w * e * cout
    }
  }
}

/** Number of trainable parameters (conv weights, BN scale and bias, head weights and bias). */
export function blockParams(b: BlockSpec): number {
  if (isHead(b)) return b.input.c * b.classes + b.classes
  const k2 = b.kernel * b.kernel
  const cin = b.input.c
  const cout = b.outChannels
  switch (b.op) {
    case 'conv':
      return cout * cin * k2 + 2 * cout
    case 'dwsep':
      return cin * k2 + 2 * cin + cout * cin + 2 * cout
    case 'mbconv': {
      const e = expandedChannels(b)
      return e * cin + 2 * e + e * k2 + 2 * e + cout * e + 2 * cout
    }
  }
}
