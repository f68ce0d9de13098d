/**
 * Writes the example model and its data, deterministically:
 *   model/classifier.onnx            the classifier (identical bytes on every run)
 *   data/training-sample.csv         TRAINING_ROWS seeded input rows
 *   data/training-capture.jsonl      the same rows with the model's outputs, as capture records
 *   capture/sample.jsonl             a small capture file from one simulated device
 *   baseline/statistics.json, constraints.json   Model Monitor baseline of the training capture
 *
 * Usage: tsx examples/generate-model.ts [--out <dir>]   (default: this folder)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { constraintsJson, statisticsJson } from "../functions/drift/baseline.ts";
import { writeBaselineDir } from "../functions/drift/local-files.ts";
import { profileSample } from "../functions/drift/sample.ts";
import { classifierOnnx } from "./classifier.ts";
import { TRAINING_ROWS, TRAINING_SEED } from "./distribution.ts";
import { predictRows, sampleRows, toCaptureJsonl, toCsv } from "./training-data.ts";

export const examplesDir = dirname(fileURLToPath(import.meta.url));

export const examplePaths = {
  model: "model/classifier.onnx",
  trainingCsv: "data/training-sample.csv",
  trainingCapture: "data/training-capture.jsonl",
  sampleCapture: "capture/sample.jsonl",
  baselineDir: "baseline",
} as const;

/** Identity of the example model in capture records and the socket API. */
export const EXAMPLE_MODEL_NAME = "example-classifier";
export const EXAMPLE_MODEL_VERSION = "1";
const SAMPLE_CAPTURE_SEED = 99;
const SAMPLE_CAPTURE_ROWS = 20;

export async function generateExamples(outDir: string = examplesDir): Promise<string[]> {
  const written: string[] = [];
  const write = async (relative: string, content: string | Uint8Array) => {
    const path = join(outDir, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    written.push(path);
  };

  const model = classifierOnnx();
  await write(examplePaths.model, model);

  const rows = sampleRows(TRAINING_SEED, TRAINING_ROWS);
  await write(examplePaths.trainingCsv, toCsv(rows));
  const outputs = await predictRows(model, rows);
  await write(
    examplePaths.trainingCapture,
    toCaptureJsonl(
      rows,
      outputs,
      {
        deviceFleetName: "training",
        deviceId: "training-sample",
        modelName: EXAMPLE_MODEL_NAME,
        modelVersion: EXAMPLE_MODEL_VERSION,
        startTime: new Date("2024-01-01T00:00:00.000Z"),
        intervalMs: 1000,
      },
      TRAINING_SEED,
    ),
  );

  const sample = sampleRows(SAMPLE_CAPTURE_SEED, SAMPLE_CAPTURE_ROWS);
  await write(
    examplePaths.sampleCapture,
    toCaptureJsonl(
      sample,
      await predictRows(model, sample),
      {
        deviceFleetName: "example-fleet",
        deviceId: "example-device-1",
        modelName: EXAMPLE_MODEL_NAME,
        modelVersion: EXAMPLE_MODEL_VERSION,
        startTime: new Date("2024-01-01T12:00:00.000Z"),
        intervalMs: 250,
      },
      SAMPLE_CAPTURE_SEED,
    ),
  );

  written.push(...(await writeBaseline(outDir)));
  return written;
}

/**
 * The baseline comes from the drift module's own writer (what `edge-mlops baseline` runs), so
 * it is exactly what the analysis expects: input features and the model's outputs, profiled
 * from the training capture.
 */
async function writeBaseline(outDir: string): Promise<string[]> {
  const sample = await profileSample(join(outDir, examplePaths.trainingCapture), "capture");
  const dir = join(outDir, examplePaths.baselineDir);
  await writeBaselineDir(
    dir,
    statisticsJson(sample.features, sample.records),
    constraintsJson(sample.features, sample.records),
  );
  return [join(dir, "statistics.json"), join(dir, "constraints.json")];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const written = await generateExamples(values.out ?? examplesDir);
  for (const path of written) console.log(`wrote ${path}`);
}
