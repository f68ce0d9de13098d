import { endianness } from "node:os";

/*
 * The Edge Manager capture record (one JSON object a line). The drift analysis reads these
 * files, so field names and the tensor encoding (base64 of raw little-endian bytes, content
 * type "Tensor[<dtype>; <dims>]") follow what Edge Manager agents wrote.
 */

export const CAPTURE_EVENT_VERSION = "0";

export interface CaptureEventMetadata {
  deviceFleetName: string;
  deviceId: string;
  eventId: string;
  /** ISO-8601 UTC time of the prediction. */
  inferenceTime: string;
  modelName: string;
  modelVersion: string;
}

export interface CaptureTensor {
  name: string;
  /** base64 of the tensor's raw little-endian bytes. */
  data: string;
  /** e.g. "Tensor[float32; 1, 16]". */
  observedContentType: string;
}

/** Auxiliary data; a tensor larger than CaptureDataBase64EmbedLimit is stored beside the batch and referenced. */
export interface CaptureAuxiliary {
  name: string;
  encoding: "BASE64" | "CSV" | "JSON" | "NONE";
  data?: string;
  "data-ref"?: string;
}

export interface CaptureRecord {
  eventMetadata: CaptureEventMetadata;
  eventVersion: string;
  deviceFleetInputs: CaptureTensor[];
  deviceFleetOutputs: CaptureTensor[];
  deviceFleetAuxiliaryInputs?: CaptureAuxiliary[];
  deviceFleetAuxiliaryOutputs?: CaptureAuxiliary[];
}

export type TensorDtype = "float32" | "float64" | "int8" | "uint8" | "int16" | "uint16" | "int32" | "int64";
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | BigInt64Array;

/** A named tensor as the runtime sees it. */
export interface NamedTensor {
  name: string;
  dtype: TensorDtype;
  dims: readonly number[];
  data: TensorData;
}

/** The typed array class of each dtype (little-endian bytes on the wire and in capture). */
export const tensorArrayTypes = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
} as const;

export const tensorDtypes = Object.keys(tensorArrayTypes) as TensorDtype[];

export class CaptureFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CaptureFormatError";
  }
}

const hostIsLittleEndian = endianness() === "LE";

/** Raw little-endian bytes of a typed array (a view, not a copy, on little-endian hosts). */
export function tensorBytes(data: TensorData): Buffer {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return hostIsLittleEndian ? bytes : swapBytes(Buffer.from(bytes), data.BYTES_PER_ELEMENT);
}

/** "Tensor[float32; 1, 16]" */
export function contentType(dtype: TensorDtype, dims: readonly number[]): string {
  return `Tensor[${dtype}; ${dims.join(", ")}]`;
}

export function parseContentType(value: string): { dtype: TensorDtype; dims: number[] } {
  const match = /^Tensor\[(\w+);\s*([\d,\s]*)\]$/.exec(value);
  const dtype = match?.[1] as TensorDtype | undefined;
  if (!match || !dtype || !(dtype in tensorArrayTypes)) {
    throw new CaptureFormatError(
      `observedContentType ${JSON.stringify(value)} is not Tensor[<dtype>; <dims>]`,
    );
  }
  const dims = (match[2] ?? "")
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d !== "")
    .map(Number);
  return { dtype, dims };
}

/** @example encodeCaptureTensor({ name: "input", dtype: "float32", dims: [1, 16], data }) */
export function encodeCaptureTensor(tensor: NamedTensor): CaptureTensor {
  return {
    name: tensor.name,
    data: tensorBytes(tensor.data).toString("base64"),
    observedContentType: contentType(tensor.dtype, tensor.dims),
  };
}

/** Decodes a captured tensor back to typed values; checks the byte count against the dims. */
export function decodeCaptureTensor(tensor: CaptureTensor): NamedTensor {
  const { dtype, dims } = parseContentType(tensor.observedContentType);
  const ArrayType = tensorArrayTypes[dtype];
  const raw = Buffer.from(tensor.data, "base64");
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== count * ArrayType.BYTES_PER_ELEMENT) {
    throw new CaptureFormatError(
      `${tensor.name}: ${raw.length} bytes do not fit ${tensor.observedContentType} (${count} × ${ArrayType.BYTES_PER_ELEMENT})`,
    );
  }
  return { name: tensor.name, dtype, dims, data: typedArrayFromBytes(dtype, raw) };
}

/** Typed array of `dtype` from raw little-endian bytes (copied, so the result is aligned). */
export function typedArrayFromBytes(dtype: TensorDtype, raw: Uint8Array): TensorData {
  const ArrayType = tensorArrayTypes[dtype];
  const aligned = new Uint8Array(raw.length);
  aligned.set(raw);
  if (!hostIsLittleEndian) swapBytes(Buffer.from(aligned.buffer), ArrayType.BYTES_PER_ELEMENT);
  return new ArrayType(aligned.buffer);
}

/** Parses one JSONL line, checking the fields the analysis depends on. */
export function parseCaptureRecord(line: string): CaptureRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new CaptureFormatError("capture line is not JSON", { cause });
  }
  const record = value as Partial<CaptureRecord> | null;
  if (
    !record ||
    typeof record !== "object" ||
    typeof record.eventMetadata !== "object" ||
    record.eventMetadata === null
  ) {
    throw new CaptureFormatError("capture record has no eventMetadata");
  }
  if (!Array.isArray(record.deviceFleetInputs) || !Array.isArray(record.deviceFleetOutputs)) {
    throw new CaptureFormatError("capture record needs deviceFleetInputs and deviceFleetOutputs arrays");
  }
  return record as CaptureRecord;
}

function swapBytes(bytes: Buffer, size: number): Buffer {
  if (size === 2) return bytes.swap16();
  if (size === 4) return bytes.swap32();
  if (size === 8) return bytes.swap64();
  return bytes;
}
