import { isUtf8 } from "node:buffer";
import type { CaptureRecord, TensorKind, TensorValues } from "./record.ts";
import { parseContentType, slotAt, type TensorSlot } from "./tensor.ts";

const REQUIRED_META = ["deviceFleetName", "deviceId", "modelName"] as const;
const OPTIONAL_META = ["modelVersion", "eventId", "inferenceTime"] as const;
const TENSOR_ARRAYS: [string, TensorKind][] = [
  ["deviceFleetInputs", "input"],
  ["deviceFleetOutputs", "output"],
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The strict path: full JSON.parse and validation of one line. It is the only place that decides
 * *why* a line is rejected, so reasons are the same whichever path saw the line first.
 * @example parseStrict(Buffer.from('{"eventMetadata":{}}'), slots) // { error: "eventMetadata.deviceFleetName is missing or not a string" }
 */
export function parseStrict(line: Buffer, slots: TensorSlot[]): CaptureRecord | { error: string } {
  if (!isUtf8(line)) return { error: "line is not valid UTF-8" };
  let doc: unknown;
  try {
    doc = JSON.parse(line.toString("utf8"));
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message.slice(0, 160)}` };
  }
  if (!isObject(doc)) return { error: "record is not a JSON object" };
  const meta = doc.eventMetadata;
  if (!isObject(meta)) return { error: "eventMetadata is missing or not an object" };
  for (const k of REQUIRED_META) {
    if (typeof meta[k] !== "string") return { error: `eventMetadata.${k} is missing or not a string` };
  }
  for (const k of OPTIONAL_META) {
    if (meta[k] !== undefined && typeof meta[k] !== "string")
      return { error: `eventMetadata.${k} is not a string` };
  }
  const tensors: TensorValues[] = [];
  for (const [field, kind] of TENSOR_ARRAYS) {
    const list = doc[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return { error: `${field} is not an array` };
    for (let i = 0; i < list.length; i++) {
      const t: unknown = list[i];
      const where = `${field}[${i}]`;
      if (!isObject(t)) return { error: `${where} is not an object` };
      for (const f of ["name", "data", "observedContentType"]) {
        if (typeof t[f] !== "string") return { error: `${where}.${f} is missing or not a string` };
      }
      const name = t.name as string;
      const type = parseContentType(t.observedContentType as string);
      if ("error" in type) return { error: `${where} (${name.slice(0, 60)}): ${type.error}` };
      const data = Buffer.from(t.data as string, "utf8");
      const n = tensors.length;
      const slot = slotAt(slots, n);
      const values = slot.decode(data, 0, data.length, type);
      if ("error" in values) return { error: `${where} (${name.slice(0, 60)}): ${values.error}` };
      tensors.push({ kind, name, values });
    }
  }
  if (tensors.length === 0) return { error: "record has no deviceFleetInputs or deviceFleetOutputs tensors" };
  return {
    fleet: meta.deviceFleetName as string,
    device: meta.deviceId as string,
    model: meta.modelName as string,
    modelVersion: meta.modelVersion as string | undefined,
    inferenceTime: meta.inferenceTime as string | undefined,
    tensors,
  };
}
