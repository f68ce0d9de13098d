import { endianness } from "node:os";

/** Element types a capture tensor may declare (all little-endian on the wire). */
export type Dtype =
  | "float32"
  | "float64"
  | "float16"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64";

const BYTES: Record<Dtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
};

export interface TensorType {
  dtype: Dtype;
  dims: readonly number[];
  /** Number of elements: product of dims (1 for a scalar). */
  elements: number;
  /** Byte length the decoded data must have. */
  byteLength: number;
}

/** Why a content type or payload cannot be decoded; the reader turns it into a quarantine reason. */
export type DecodeFailure = { error: string };

const CONTENT_TYPE = /^Tensor\[\s*([A-Za-z0-9_]+)\s*(?:;\s*([0-9]+(?:\s*,\s*[0-9]+)*)\s*)?\]$/;
// Content types repeat on every record; parsing each distinct string once keeps the hot path to a Map lookup.
const typeCache = new Map<string, TensorType | DecodeFailure>();
const MAX_ELEMENTS = 1 << 24;

/**
 * Parses an Edge Manager `observedContentType`.
 * @example parseContentType("Tensor[float32; 1, 16]") // { dtype: "float32", dims: [1, 16], elements: 16, byteLength: 64 }
 */
export function parseContentType(contentType: string): TensorType | DecodeFailure {
  const cached = typeCache.get(contentType);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(contentType);
  if (typeCache.size < 1024) typeCache.set(contentType, parsed);
  return parsed;
}

function parseUncached(contentType: string): TensorType | DecodeFailure {
  const m = CONTENT_TYPE.exec(contentType);
  if (m === null)
    return {
      error: `observedContentType ${JSON.stringify(contentType.slice(0, 80))} is not Tensor[<dtype>; <dims>]`,
    };
  const dtype = (m[1] ?? "").toLowerCase();
  if (!(dtype in BYTES)) return { error: `unknown dtype ${JSON.stringify(dtype.slice(0, 40))}` };
  const dims = m[2] === undefined ? [] : m[2].split(",").map((d) => Number.parseInt(d.trim(), 10));
  const elements = dims.reduce((a, b) => a * b, 1);
  if (elements > MAX_ELEMENTS) return { error: `tensor of ${elements} elements exceeds ${MAX_ELEMENTS}` };
  const t = dtype as Dtype;
  return { dtype: t, dims, elements, byteLength: elements * BYTES[t] };
}

// -1 marks bytes outside the standard base64 alphabet; '=' is handled separately.
const B64 = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++)
  B64["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;

/**
 * Decodes standard base64 (padding optional, no whitespace) from `src[start, end)` into `out`.
 * Returns the decoded byte count, or -1 when the text is not base64 or does not fit.
 * Written out by hand because Buffer.from(…, "base64") silently skips invalid characters, and
 * decoding from the line's bytes avoids building a string per tensor.
 */
export function decodeBase64Into(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let len = end - start;
  if (len % 4 === 1) return -1;
  if (len >= 2 && src[end - 1] === 61) {
    if (len % 4 !== 0) return -1;
    len -= src[end - 2] === 61 ? 2 : 1;
  }
  const full = (len >> 2) << 2;
  const rem = len - full;
  const outLen = (full >> 2) * 3 + (rem === 0 ? 0 : rem - 1);
  if (outLen > out.length) return -1;
  let o = 0;
  const stop = start + full;
  let i = start;
  for (; i < stop; i += 4) {
    const a = B64[src[i] as number] as number;
    const b = B64[src[i + 1] as number] as number;
    const c = B64[src[i + 2] as number] as number;
    const d = B64[src[i + 3] as number] as number;
    if ((a | b | c | d) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  if (rem >= 2) {
    const a = B64[src[i] as number] as number;
    const b = B64[src[i + 1] as number] as number;
    const c = rem === 3 ? (B64[src[i + 2] as number] as number) : 0;
    if ((a | b | c) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6);
    out[o++] = v >> 16;
    if (rem === 3) out[o++] = (v >> 8) & 255;
  }
  return o;
}

const LITTLE_ENDIAN = endianness() === "LE";

/**
 * Reusable decode target: one per tensor position in a record, so the hot path allocates nothing
 * once warm. Values returned by `view` stay valid until the slot is used again.
 */
export class TensorSlot {
  private bytes = new Uint8Array(64);
  private f64 = new Float64Array(8);
  private cached: { dtype: Dtype; n: number; view: ArrayLike<number> } | undefined;

  /** Decodes base64 `src[start,end)` as `type`; returns the values or a failure reason. */
  decode(src: Uint8Array, start: number, end: number, type: TensorType): ArrayLike<number> | DecodeFailure {
    const maxOut = (((end - start + 3) >> 2) * 3) | 0;
    if (maxOut > this.bytes.length) {
      this.bytes = new Uint8Array(Math.max(maxOut, this.bytes.length * 2));
      this.cached = undefined;
    }
    const n = decodeBase64Into(src, start, end, this.bytes);
    if (n < 0) return { error: "data is not valid base64" };
    if (n !== type.byteLength) {
      return {
        error: `data has ${n} bytes but Tensor[${type.dtype}; ${type.dims.join(", ")}] needs ${type.byteLength}`,
      };
    }
    return this.view(type.dtype, type.elements);
  }

  private view(dtype: Dtype, n: number): ArrayLike<number> {
    const c = this.cached;
    if (c !== undefined && c.dtype === dtype && c.n === n && dtype !== "int64" && dtype !== "float16")
      return c.view;
    const buf = this.bytes.buffer;
    let view: ArrayLike<number>;
    if (!LITTLE_ENDIAN || dtype === "int64" || dtype === "float16") view = this.convert(dtype, n);
    else if (dtype === "float32") view = new Float32Array(buf, 0, n);
    else if (dtype === "float64") view = new Float64Array(buf, 0, n);
    else if (dtype === "int8") view = new Int8Array(buf, 0, n);
    else if (dtype === "uint8") view = new Uint8Array(buf, 0, n);
    else if (dtype === "int16") view = new Int16Array(buf, 0, n);
    else if (dtype === "uint16") view = new Uint16Array(buf, 0, n);
    else if (dtype === "int32") view = new Int32Array(buf, 0, n);
    else view = new Uint32Array(buf, 0, n);
    this.cached = { dtype, n, view };
    return view;
  }

  // Slow path for big-endian hosts and for types JS has no exact view of.
  private convert(dtype: Dtype, n: number): Float64Array {
    if (this.f64.length < n) this.f64 = new Float64Array(Math.max(n, this.f64.length * 2));
    const dv = new DataView(this.bytes.buffer, 0, n * BYTES[dtype]);
    const out = this.f64.subarray(0, n);
    for (let i = 0; i < n; i++) out[i] = readLE(dv, dtype, i);
    return out;
  }
}

function readLE(dv: DataView, dtype: Dtype, i: number): number {
  switch (dtype) {
    case "float32":
      return dv.getFloat32(i * 4, true);
    case "float64":
      return dv.getFloat64(i * 8, true);
    case "float16":
      return halfToNumber(dv.getUint16(i * 2, true));
    case "int8":
      return dv.getInt8(i);
    case "uint8":
      return dv.getUint8(i);
    case "int16":
      return dv.getInt16(i * 2, true);
    case "uint16":
      return dv.getUint16(i * 2, true);
    case "int32":
      return dv.getInt32(i * 4, true);
    case "uint32":
      return dv.getUint32(i * 4, true);
    case "int64":
      return Number(dv.getBigInt64(i * 8, true));
  }
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The i-th reusable slot, created on first use. */
export function slotAt(slots: TensorSlot[], i: number): TensorSlot {
  let slot = slots[i];
  if (slot === undefined) {
    slot = new TensorSlot();
    slots[i] = slot;
  }
  return slot;
}
