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
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
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
 * The baseline comes from the drift module's writer so that it is exactly what the analysis
 * expects. Until that module exists the step is skipped with a message.
 */
async function writeBaseline(outDir: string): Promise<string[]> {
  const modulePath = join(examplesDir, "..", "functions", "drift", "baseline.ts");
  if (!existsSync(modulePath)) {
    console.warn(`baseline skipped: ${modulePath} not found (the drift module writes it)`);
    return [];
  }
  const { writeBaselineFromFiles } = (await import(pathToFileURL(modulePath).href)) as {
    writeBaselineFromFiles?: (inputs: string[], out: string) => Promise<string[]>;
  };
  if (!writeBaselineFromFiles) {
    console.warn("baseline skipped: functions/drift/baseline.ts has no writeBaselineFromFiles export");
    return [];
  }
  return writeBaselineFromFiles(
    [join(outDir, examplePaths.trainingCapture)],
    join(outDir, examplePaths.baselineDir),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const written = await generateExamples(values.out ?? examplesDir);
  for (const path of written) console.log(`wrote ${path}`);
}
