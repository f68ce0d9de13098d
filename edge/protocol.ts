import type { CaptureStats } from "./capture.ts";
import {
  type NamedTensor,
  type TensorData,
  type TensorDtype,
  tensorArrayTypes,
  tensorBytes,
  tensorDtypes,
  typedArrayFromBytes,
} from "./capture-format.ts";
import type { SpoolStats } from "./capture-spool.ts";
import { BadRequestError, type ErrorCode, InvalidInputError } from "./errors.ts";
import type { ModelInfo } from "./model-store.ts";

/*
 * The socket protocol: one JSON object per line each way. Requests carry an `id` the response
 * echoes, so a client may pipeline. Tensor data travels as a JSON number array or as a base64
 * string of raw little-endian bytes (cheaper for large tensors).
 */

export interface WireTensor {
  dtype: TensorDtype;
  shape: number[];
  /** Numbers (int64 as numbers or decimal strings) or base64 of little-endian bytes. */
  data: Array<number | string> | string;
}

export type RequestId = string | number | null;

export type Request =
  | { id: RequestId; op: "load"; name: string; path: string; version?: string; replace?: boolean }
  | { id: RequestId; op: "unload"; name: string }
  | { id: RequestId; op: "list" }
  | { id: RequestId; op: "describe"; name?: string }
  | { id: RequestId; op: "stats" }
  | {
      id: RequestId;
      op: "predict";
      model: string;
      inputs: Record<string, WireTensor>;
      /** "array" (default) or "base64" for the outputs' data. */
      outputEncoding?: "array" | "base64";
      /** Set false to keep this prediction out of capture (e.g. health checks). */
      capture?: boolean;
    };

export type Operation = Request["op"];
export const operations: readonly Operation[] = ["load", "unload", "list", "describe", "stats", "predict"];

export interface RuntimeStats {
  startedAt: string;
  requests: number;
  predictions: number;
  errors: Partial<Record<ErrorCode, number>>;
  models: number;
  capture: CaptureStats | null;
  spool: SpoolStats | null;
}

export interface PredictResult {
  model: string;
  modelVersion: string;
  outputs: Record<string, WireTensor>;
}

export type SuccessResponse = { id: RequestId; ok: true; result: unknown };
export type ErrorResponse = { id: RequestId; ok: false; error: { code: ErrorCode; message: string } };
export type Response = SuccessResponse | ErrorResponse;

export type { ModelInfo };

/**
 * Checks a decoded JSON value is a well-formed request; throws BadRequestError saying what is
 * wrong. Written without per-call closures or spreads: it runs on every prediction.
 */
export function parseRequest(value: unknown): Request {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new BadRequestError("request must be a JSON object");
  const r = value as Record<string, unknown>;
  const id = r.id;
  if (id !== undefined && id !== null && typeof id !== "string" && typeof id !== "number") {
    throw new BadRequestError("id must be a string or a number");
  }
  const rid: RequestId = (id as RequestId | undefined) ?? null;
  switch (r.op) {
    case "predict": {
      const inputs = r.inputs;
      if (!inputs || typeof inputs !== "object" || Array.isArray(inputs) || !hasKeys(inputs)) {
        throw new BadRequestError('predict needs "inputs": {"<name>": {"dtype", "shape", "data"}}');
      }
      const outputEncoding = r.outputEncoding;
      if (outputEncoding !== undefined && outputEncoding !== "array" && outputEncoding !== "base64") {
        throw new BadRequestError('outputEncoding must be "array" or "base64"');
      }
      if (r.capture !== undefined && typeof r.capture !== "boolean")
        throw new BadRequestError('"capture" must be a boolean');
      const request: Request = {
        id: rid,
        op: "predict",
        model: needString(r, "model"),
        inputs: inputs as Record<string, WireTensor>,
      };
      if (outputEncoding !== undefined) request.outputEncoding = outputEncoding;
      if (r.capture === false) request.capture = false;
      return request;
    }
    case "load": {
      const request: Request = {
        id: rid,
        op: "load",
        name: needString(r, "name"),
        path: needString(r, "path"),
      };
      const version = optionalString(r, "version");
      if (version) request.version = version;
      if (r.replace !== undefined && typeof r.replace !== "boolean")
        throw new BadRequestError('"replace" must be a boolean');
      if (r.replace === true) request.replace = true;
      return request;
    }
    case "unload":
      return { id: rid, op: "unload", name: needString(r, "name") };
    case "list":
      return { id: rid, op: "list" };
    case "stats":
      return { id: rid, op: "stats" };
    case "describe": {
      const name = optionalString(r, "name");
      return name ? { id: rid, op: "describe", name } : { id: rid, op: "describe" };
    }
    default:
      throw new BadRequestError(`op must be one of ${operations.join(", ")}; got ${JSON.stringify(r.op)}`);
  }
}

function needString(r: Record<string, unknown>, field: string): string {
  const v = r[field];
  if (typeof v !== "string" || v === "")
    throw new BadRequestError(`${String(r.op)} needs a non-empty string "${field}"`);
  return v;
}

function optionalString(r: Record<string, unknown>, field: string): string | undefined {
  const v = r[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new BadRequestError(`"${field}" must be a string`);
  return v;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** Wire tensor → typed tensor, checking dtype, shape and element count. */
export function decodeWireTensor(name: string, wire: unknown): NamedTensor {
  if (!wire || typeof wire !== "object")
    throw new InvalidInputError(`input ${name} must be {dtype, shape, data}`);
  const { dtype, shape, data } = wire as Partial<WireTensor>;
  if (typeof dtype !== "string" || !tensorDtypes.includes(dtype)) {
    throw new InvalidInputError(
      `input ${name}: dtype must be one of ${tensorDtypes.join(", ")}; got ${JSON.stringify(dtype)}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidInputError(`input ${name}: shape must be an array of positive integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const ArrayType = tensorArrayTypes[dtype];
  let values: TensorData;
  if (typeof data === "string") {
    const raw = Buffer.from(data, "base64");
    if (raw.length !== count * ArrayType.BYTES_PER_ELEMENT) {
      throw new InvalidInputError(
        `input ${name}: ${raw.length} bytes of base64 data for ${dtype} shape [${shape}] (needs ${count * ArrayType.BYTES_PER_ELEMENT})`,
      );
    }
    values = typedArrayFromBytes(dtype, raw);
  } else if (Array.isArray(data)) {
    if (data.length !== count)
      throw new InvalidInputError(
        `input ${name}: ${data.length} values for shape [${shape}] (needs ${count})`,
      );
    values = new ArrayType(count);
    for (let i = 0; i < count; i++) {
      const v = data[i];
      if (dtype === "int64") {
        if (
          (typeof v !== "number" || !Number.isInteger(v)) &&
          (typeof v !== "string" || !/^-?\d+$/.test(v))
        ) {
          throw new InvalidInputError(`input ${name}: value ${i} is not an integer`);
        }
        (values as BigInt64Array)[i] = BigInt(v);
      } else {
        if (typeof v !== "number" || !Number.isFinite(v))
          throw new InvalidInputError(`input ${name}: value ${i} is not a finite number`);
        (values as Float32Array)[i] = v;
      }
    }
  } else {
    throw new InvalidInputError(`input ${name}: data must be a number array or a base64 string`);
  }
  return { name, dtype, dims: shape, data: values };
}

/** Typed tensor → wire tensor. */
export function encodeWireTensor(tensor: NamedTensor, encoding: "array" | "base64" = "array"): WireTensor {
  const shape = tensor.dims.slice();
  if (encoding === "base64")
    return { dtype: tensor.dtype, shape, data: tensorBytes(tensor.data).toString("base64") };
  const source = tensor.data;
  const data: Array<number | string> = new Array(source.length);
  // A plain loop: Array.from on a typed array is several times slower for small tensors.
  if (source instanceof BigInt64Array) for (let i = 0; i < source.length; i++) data[i] = String(source[i]);
  else for (let i = 0; i < source.length; i++) data[i] = source[i] as number;
  return { dtype: tensor.dtype, shape, data };
}
