import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeCaptureTensor, parseCaptureRecord } from "../../edge/capture-format.ts";
import { CLASSES, classifierOnnx } from "../../examples/classifier.ts";
import {
  FEATURE_COUNT,
  featureDistributions,
  sampleFeatures,
  TRAINING_ROWS,
  TRAINING_SEED,
} from "../../examples/distribution.ts";
import { examplePaths, examplesDir, generateExamples } from "../../examples/generate-model.ts";
import { createRng } from "../../examples/prng.ts";
import { sampleRows, toCsv } from "../../examples/training-data.ts";

const committed = (relative: string) => readFile(join(examplesDir, relative));

describe("example model", () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(join(examplesDir, examplePaths.model));
  });
  afterAll(() => session.release());

  it("regenerates to the committed bytes", async () => {
    expect(Buffer.from(classifierOnnx()).equals(await committed(examplePaths.model))).toBe(true);
  });

  it("declares input [N,16] and output probabilities [N,3]", () => {
    expect(session.inputNames).toEqual(["input"]);
    expect(session.outputNames).toEqual(["probabilities"]);
    expect(session.inputMetadata[0]).toMatchObject({
      name: "input",
      type: "float32",
      shape: ["N", FEATURE_COUNT],
    });
    expect(session.outputMetadata[0]).toMatchObject({
      name: "probabilities",
      type: "float32",
      shape: ["N", CLASSES],
    });
  });

  it("gives softmax rows that use every class over the training distribution", async () => {
    const rows = sampleRows(TRAINING_SEED, TRAINING_ROWS);
    const batch = new Float32Array(rows.length * FEATURE_COUNT);
    rows.forEach((row, i) => {
      batch.set(row, i * FEATURE_COUNT);
    });
    const out = await session.run({ input: new ort.Tensor("float32", batch, [rows.length, FEATURE_COUNT]) });
    const p = out.probabilities?.data as Float32Array;
    expect(p.length).toBe(rows.length * CLASSES);
    const wins = [0, 0, 0];
    for (let r = 0; r < rows.length; r++) {
      const row = Array.from(p.subarray(r * CLASSES, (r + 1) * CLASSES));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
      wins[row.indexOf(Math.max(...row))] = (wins[row.indexOf(Math.max(...row))] ?? 0) + 1;
    }
    // Each class wins at least a fifth of the rows: the model is not degenerate.
    for (const w of wins) expect(w).toBeGreaterThan(rows.length / 5);
  });
});

describe("example data", () => {
  it("training CSV is the seeded distribution, byte for byte", async () => {
    const csv = (await committed(examplePaths.trainingCsv)).toString();
    expect(csv).toBe(toCsv(sampleRows(TRAINING_SEED, TRAINING_ROWS)));
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe(Array.from({ length: 16 }, (_, i) => `input_${i}`).join(","));
    expect(lines).toHaveLength(TRAINING_ROWS + 1);
  });

  it("sample means and stds match the exported distribution", () => {
    const rows = sampleRows(TRAINING_SEED, TRAINING_ROWS);
    featureDistributions.forEach((f, i) => {
      const values = rows.map((r) => r[i] ?? 0);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      expect(Math.abs(mean - f.mean)).toBeLessThan(0.1 * f.std);
      expect(std / f.std).toBeGreaterThan(0.9);
      expect(std / f.std).toBeLessThan(1.1);
    });
  });

  it("drift shifts and rescales only the chosen feature", () => {
    const plain = sampleFeatures(createRng(5));
    const drifted = sampleFeatures(createRng(5), [{ feature: "input_3", shift: 6, scale: 2 }]);
    for (let i = 0; i < FEATURE_COUNT; i++) {
      if (i === 3) expect(drifted[i]).toBeCloseTo((plain[i] ?? 0) * 2 + 6, 3);
      else expect(drifted[i]).toBe(plain[i]);
    }
    expect(() => sampleFeatures(createRng(5), [{ feature: "input_99" }])).toThrow(/unknown feature/);
  });

  it("training capture holds the CSV rows and the model's outputs", async () => {
    const lines = (await committed(examplePaths.trainingCapture)).toString().trim().split("\n");
    expect(lines).toHaveLength(TRAINING_ROWS);
    const first = parseCaptureRecord(lines[0] ?? "");
    const input = decodeCaptureTensor(
      first.deviceFleetInputs[0] ?? { name: "", data: "", observedContentType: "" },
    );
    expect(input).toMatchObject({ name: "input", dtype: "float32", dims: [1, 16] });
    expect(Array.from(input.data as Float32Array)).toEqual(Array.from(sampleRows(TRAINING_SEED, 1)[0] ?? []));
    const output = decodeCaptureTensor(
      first.deviceFleetOutputs[0] ?? { name: "", data: "", observedContentType: "" },
    );
    expect(output).toMatchObject({ name: "probabilities", dims: [1, 3] });
    expect(Array.from(output.data as Float32Array).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(first.eventMetadata).toMatchObject({
      deviceId: "training-sample",
      modelName: "example-classifier",
    });
  });

  it("the generator script writes the same model and CSV into a fresh folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "examples-"));
    try {
      await generateExamples(dir);
      for (const relative of [examplePaths.model, examplePaths.trainingCsv]) {
        expect((await readFile(join(dir, relative))).equals(await committed(relative))).toBe(true);
      }
      const constraints = `${examplePaths.baselineDir}/constraints.json`;
      expect(JSON.parse(await readFile(join(dir, constraints), "utf8"))).toEqual(
        JSON.parse((await committed(constraints)).toString()),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("example baseline", () => {
  it("profiles the 16 inputs and the model's outputs of the training capture", async () => {
    const statistics = JSON.parse(
      (await committed(`${examplePaths.baselineDir}/statistics.json`)).toString(),
    ) as {
      dataset: { item_count: number };
      features: Array<{ name: string; inferred_type: string; numerical_statistics?: { mean: number } }>;
    };
    expect(statistics.dataset.item_count).toBe(TRAINING_ROWS);
    expect(statistics.features.map((f) => f.name)).toEqual([
      ...featureDistributions.map((f) => f.name),
      "probabilities_0",
      "probabilities_1",
      "probabilities_2",
      "probabilities_argmax",
    ]);
    featureDistributions.forEach((f, i) => {
      const mean = statistics.features[i]?.numerical_statistics?.mean ?? Number.NaN;
      expect(Math.abs(mean - f.mean)).toBeLessThan(0.1 * f.std);
    });
    const constraints = JSON.parse(
      (await committed(`${examplePaths.baselineDir}/constraints.json`)).toString(),
    ) as {
      features: Array<{ name: string; completeness: number }>;
    };
    expect(constraints.features).toHaveLength(20);
    for (const f of constraints.features) expect(f.completeness).toBe(1);
  });
});
