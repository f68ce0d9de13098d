/**
 * The few protobuf wire-format pieces an ONNX file needs: varints, length-delimited fields and
 * packed repeated numbers. Output is a pure function of the calls made, so the same model
 * always encodes to the same bytes.
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Appends protobuf fields to a growing buffer; nested messages are encoded first and passed as bytes. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];

  /** Non-negative integer or int64 field (negative values are not needed for ONNX metadata). */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.chunks.push(encodeVarint(BigInt(value)));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.chunks.push(encodeVarint(BigInt(value.length)), value);
    return this;
  }

  /** 32-bit float, little-endian as the wire format requires. */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const out = new Uint8Array(4);
    new DataView(out.buffer).setFloat32(0, value, true);
    this.chunks.push(out);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** Packed repeated int64, e.g. TensorProto.dims. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    return this.bytes(field, concat(values.map((v) => encodeVarint(BigInt(v)))));
  }

  finish(): Uint8Array {
    return concat(this.chunks);
  }

  private tag(field: number, wireType: number): void {
    this.chunks.push(encodeVarint(BigInt((field << 3) | wireType)));
  }
}

/** Base-128 varint, least significant group first. */
export function encodeVarint(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError(`varint must be non-negative, got ${value}`);
  const out: number[] = [];
  let rest = value;
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Uint8Array.from(out);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
