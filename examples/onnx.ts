import { ProtoWriter } from "./protobuf.ts";

/*
 * Encoders for the ONNX messages a small feed-forward model needs. Field numbers are those of
 * onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto,
 * TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

/** TensorProto.DataType.FLOAT */
export const ONNX_FLOAT = 1;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;

export interface TensorSpec {
  name: string;
  dims: readonly number[];
  /** float32 values in row-major order. */
  values: Float32Array;
}

export type Attribute = { name: string; int: number } | { name: string; float: number };

export interface NodeSpec {
  name: string;
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly Attribute[];
}

export interface ValueInfoSpec {
  name: string;
  /** A number is a fixed dimension, a string a symbolic one such as the batch "N". */
  shape: readonly (number | string)[];
}

export interface ModelSpec {
  graphName: string;
  producerName: string;
  producerVersion: string;
  modelVersion: number;
  docString: string;
  irVersion: number;
  opsetVersion: number;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
}

/** Serialises a model to the bytes of an `.onnx` file. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const node of spec.nodes) graph.message(1, encodeNode(node));
  graph.string(2, spec.graphName);
  for (const tensor of spec.initializers) graph.message(5, encodeTensor(tensor));
  for (const input of spec.inputs) graph.message(11, encodeValueInfo(input));
  for (const output of spec.outputs) graph.message(12, encodeValueInfo(output));

  const opset = new ProtoWriter().string(1, "").varint(2, spec.opsetVersion);
  return new ProtoWriter()
    .varint(1, spec.irVersion)
    .string(2, spec.producerName)
    .string(3, spec.producerVersion)
    .varint(5, spec.modelVersion)
    .string(6, spec.docString)
    .message(7, graph)
    .message(8, opset)
    .finish();
}

function encodeNode(node: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const attribute of node.attributes ?? []) w.message(5, encodeAttribute(attribute));
  return w;
}

function encodeAttribute(attribute: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, attribute.name);
  if ("int" in attribute) {
    // int64 fields carry negatives as 64-bit two's complement (e.g. axis = -1).
    return w.varint(3, BigInt.asUintN(64, BigInt(attribute.int))).varint(20, ATTRIBUTE_INT);
  }
  return w.float(2, attribute.float).varint(20, ATTRIBUTE_FLOAT);
}

function encodeTensor(tensor: TensorSpec): ProtoWriter {
  const expected = tensor.dims.reduce((a, b) => a * b, 1);
  if (tensor.values.length !== expected) {
    throw new RangeError(`tensor ${tensor.name}: ${tensor.values.length} values for dims [${tensor.dims}]`);
  }
  return new ProtoWriter()
    .packedVarints(1, tensor.dims)
    .varint(2, ONNX_FLOAT)
    .string(8, tensor.name)
    .bytes(9, float32LittleEndian(tensor.values));
}

function encodeValueInfo(info: ValueInfoSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === "number") d.varint(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().varint(1, ONNX_FLOAT).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, info.name).message(2, type);
}

/** raw_data is little-endian whatever the host's byte order. */
export function float32LittleEndian(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setFloat32(i * 4, v, true);
  });
  return out;
}
