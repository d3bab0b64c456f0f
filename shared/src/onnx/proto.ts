/**
 * Minimal ONNX ModelProto encoder (the subset fleetnas emits: graphs of float/int64 tensors with
 * initializers and attributes). Field numbers follow onnx/onnx.proto; protobufjs does the wire format.
 */
import protobuf from 'protobufjs/minimal.js'

const { Writer } = protobuf

export const DataType = { FLOAT: 1, INT64: 7 } as const
export type DataTypeCode = (typeof DataType)[keyof typeof DataType]

export type AttributeValue = number | string | number[] | { floats: number[] } | { float: number }

export interface TensorData {
  name: string
  dims: number[]
  dataType: DataTypeCode
  raw: Uint8Array
}

export interface ValueInfo {
  name: string
  dataType: DataTypeCode
  /** Numbers are fixed sizes; strings are symbolic (e.g. 'batch'). */
  dims: (number | string)[]
}

export interface NodeData {
  opType: string
  inputs: string[]
  outputs: string[]
  name: string
  attributes: Record<string, AttributeValue>
}

export interface GraphData {
  name: string
  nodes: NodeData[]
  initializers: TensorData[]
  inputs: ValueInfo[]
  outputs: ValueInfo[]
}

type W = protobuf.Writer
const tag = (w: W, field: number, wire: number) => w.uint32((field << 3) | wire)
const LEN = 2
const VARINT = 0
const FIXED32 = 5

function str(w: W, field: number, s: string) {
  tag(w, field, LEN).string(s)
}
function msg(w: W, field: number, body: (w: W) => void) {
  tag(w, field, LEN).fork()
  body(w)
  w.ldelim()
}
function int(w: W, field: number, v: number) {
  tag(w, field, VARINT).int64(v)
}

function tensor(w: W, t: TensorData) {
  for (const d of t.dims) int(w, 1, d)
  int(w, 2, t.dataType)
  str(w, 8, t.name)
  tag(w, 9, LEN).bytes(t.raw)
}

function attribute(w: W, name: string, v: AttributeValue) {
  str(w, 1, name)
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integers`)
    int(w, 3, v)
    int(w, 20, 2)
  } else if (typeof v === 'string') {
    tag(w, 4, LEN).bytes(Buffer.from(v, 'utf8'))
    int(w, 20, 3)
  } else if (Array.isArray(v)) {
    for (const x of v) int(w, 8, x)
    int(w, 20, 7)
  } else if ('float' in v) {
    tag(w, 2, FIXED32).float(v.float)
    int(w, 20, 1)
  } else {
    for (const x of v.floats) tag(w, 7, FIXED32).float(x)
    int(w, 20, 6)
  }
}

function valueInfo(w: W, v: ValueInfo) {
  str(w, 1, v.name)
  msg(w, 2, (w) =>
    msg(w, 1, (w) => {
      int(w, 1, v.dataType)
      msg(w, 2, (w) => {
        for (const d of v.dims) msg(w, 1, (w) => (typeof d === 'number' ? int(w, 1, d) : str(w, 2, d)))
      })
    }),
  )
}

function node(w: W, n: NodeData) {
  for (const i of n.inputs) str(w, 1, i)
  for (const o of n.outputs) str(w, 2, o)
  str(w, 3, n.name)
  str(w, 4, n.opType)
  for (const [k, v] of Object.entries(n.attributes)) msg(w, 5, (w) => attribute(w, k, v))
}

export function encodeModel(graph: GraphData, opset = 17, producer = 'fleetnas'): Uint8Array {
  const w = Writer.create()
  int(w, 1, 8) // IR version 8 (ONNX 1.13+, opset <= 18)
  str(w, 2, producer)
  msg(w, 7, (w) => {
    for (const n of graph.nodes) msg(w, 1, (w) => node(w, n))
    str(w, 2, graph.name)
    for (const t of graph.initializers) msg(w, 5, (w) => tensor(w, t))
    for (const i of graph.inputs) msg(w, 11, (w) => valueInfo(w, i))
    for (const o of graph.outputs) msg(w, 12, (w) => valueInfo(w, o))
  })
  msg(w, 8, (w) => {
    str(w, 1, '')
    int(w, 2, opset)
  })
  return w.finish()
}
