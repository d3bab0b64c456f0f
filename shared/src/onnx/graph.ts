/**
 * A small builder for ONNX graphs: named inputs, outputs, initializers and nodes, serialised with
 * `toBytes()` for `InferenceSession.create`. Both the block builder (measurement, export) and the
 * training engine (forward and gradient graphs) emit through it.
 */
import { DataType, encodeModel, type AttributeValue, type DataTypeCode, type NodeData, type TensorData, type ValueInfo } from './proto.ts'

export class OnnxGraph {
  readonly name: string
  private readonly nodes: NodeData[] = []
  private readonly initializers: TensorData[] = []
  private readonly inputs: ValueInfo[] = []
  private readonly outputs: ValueInfo[] = []
  private readonly counters = new Map<string, number>()

  constructor(name: string) {
    this.name = name
  }

  /** A fresh tensor name with the given prefix. */
  fresh(prefix: string): string {
    const n = this.counters.get(prefix) ?? 0
    this.counters.set(prefix, n + 1)
    return `${prefix}_${n}`
  }

  input(name: string, dims: (number | string)[], dataType: DataTypeCode = DataType.FLOAT): string {
    this.inputs.push({ name, dims, dataType })
    return name
  }

  output(name: string, dims: (number | string)[], dataType: DataTypeCode = DataType.FLOAT): string {
    this.outputs.push({ name, dims, dataType })
    return name
  }

  floatInit(name: string, dims: number[], data: Float32Array | number[]): string {
    const f = data instanceof Float32Array ? data : Float32Array.from(data)
    const size = dims.reduce((a, b) => a * b, 1)
    if (f.length !== size) throw new Error(`initializer ${name}: ${f.length} values for dims [${dims}]`)
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, raw: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) })
    return name
  }

  int64Init(name: string, values: number[]): string {
    const b = BigInt64Array.from(values.map((v) => BigInt(v)))
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, raw: new Uint8Array(b.buffer) })
    return name
  }

  /** Adds a node; returns its output names (fresh ones unless given). */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputs?: string[] | number): string[] {
    const outs = Array.isArray(outputs)
      ? outputs
      : Array.from({ length: outputs ?? 1 }, () => this.fresh(opType.toLowerCase()))
    this.nodes.push({ opType, inputs, outputs: outs, name: this.fresh(`n_${opType}`), attributes })
    return outs
  }

  /** Single-output convenience. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    return this.node(opType, inputs, attributes, output ? [output] : 1)[0]
  }

  get nodeCount(): number {
    return this.nodes.length
  }

  toBytes(opset = 17): Uint8Array {
    return encodeModel(
      { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
      opset,
    )
  }
}
