import ort from "onnxruntime-node";
import { CAPTURE_EVENT_VERSION, type CaptureRecord, encodeCaptureTensor } from "../edge/capture-format.ts";
import { CLASSES, CLASSIFIER_INPUT, CLASSIFIER_OUTPUT } from "./classifier.ts";
import { FEATURE_COUNT, type FeatureDrift, featureNames, sampleFeatures } from "./distribution.ts";
import { createRng, type Rng } from "./prng.ts";

/** Identity written into example capture records. */
export interface CaptureIdentity {
  deviceFleetName: string;
  deviceId: string;
  modelName: string;
  modelVersion: string;
  /** Time of the first record; each next record is `intervalMs` later. */
  startTime: Date;
  intervalMs: number;
}

/** `rows` seeded input rows, each FEATURE_COUNT float32 values. */
export function sampleRows(seed: number, rows: number, drift: readonly FeatureDrift[] = []): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => sampleFeatures(rng, drift));
}

/** CSV with header input_0..input_15; values printed with the 4 decimals they were rounded to. */
export function toCsv(rows: readonly Float32Array[]): string {
  const lines = [featureNames.join(",")];
  for (const row of rows) lines.push(Array.from(row, (v) => formatValue(v)).join(","));
  return `${lines.join("\n")}\n`;
}

/** Runs the model over all rows in one batch and returns one probability row per input row. */
export async function predictRows(
  modelPath: string | Uint8Array,
  rows: readonly Float32Array[],
): Promise<Float32Array[]> {
  const session =
    typeof modelPath === "string"
      ? await ort.InferenceSession.create(modelPath)
      : await ort.InferenceSession.create(modelPath);
  try {
    const batch = new Float32Array(rows.length * FEATURE_COUNT);
    rows.forEach((row, i) => {
      batch.set(row, i * FEATURE_COUNT);
    });
    const result = await session.run({
      [CLASSIFIER_INPUT]: new ort.Tensor("float32", batch, [rows.length, FEATURE_COUNT]),
    });
    const probabilities = result[CLASSIFIER_OUTPUT]?.data as Float32Array;
    return rows.map((_, i) => probabilities.slice(i * CLASSES, (i + 1) * CLASSES));
  } finally {
    await session.release();
  }
}

/** Capture records (Edge Manager JSON Lines) for rows and their predictions, with seeded event ids. */
export function toCaptureJsonl(
  rows: readonly Float32Array[],
  outputs: readonly Float32Array[],
  identity: CaptureIdentity,
  idSeed: number,
): string {
  const ids = createRng(idSeed);
  const lines = rows.map((row, i) => {
    const record: CaptureRecord = {
      eventMetadata: {
        deviceFleetName: identity.deviceFleetName,
        deviceId: identity.deviceId,
        eventId: seededUuid(ids),
        inferenceTime: new Date(identity.startTime.getTime() + i * identity.intervalMs).toISOString(),
        modelName: identity.modelName,
        modelVersion: identity.modelVersion,
      },
      eventVersion: CAPTURE_EVENT_VERSION,
      deviceFleetInputs: [
        encodeCaptureTensor({
          name: CLASSIFIER_INPUT,
          dtype: "float32",
          dims: [1, FEATURE_COUNT],
          data: row,
        }),
      ],
      deviceFleetOutputs: [
        encodeCaptureTensor({
          name: CLASSIFIER_OUTPUT,
          dtype: "float32",
          dims: [1, CLASSES],
          data: outputs[i] ?? new Float32Array(CLASSES),
        }),
      ],
    };
    return JSON.stringify(record);
  });
  return `${lines.join("\n")}\n`;
}

/** Version-4-shaped UUID from the seeded generator, so example files are reproducible. */
function seededUuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng.next() * 16).toString(16));
  hex[12] = "4";
  hex[16] = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  const s = hex.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function formatValue(v: number): string {
  // float32 of a 4-decimal number prints back as those 4 decimals.
  return Number(v.toFixed(4)).toString();
}
