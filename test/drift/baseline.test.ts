import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { constraintsJson, readBaseline, statisticsJson } from "../../functions/drift/baseline.ts";
import { compareToBaseline } from "../../functions/drift/compare.ts";
import { loadBaselineDir } from "../../functions/drift/local-files.ts";
import { GroupProfile } from "../../functions/drift/profile.ts";
import type { CaptureRecord } from "../../functions/drift/record.ts";
import { parseCsvLine, profileSample } from "../../functions/drift/sample.ts";
import { captureLine } from "./generate.ts";

const fixtures = join(import.meta.dirname, "../fixtures/drift");
const dirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), "drift-baseline-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  const { rm } = await import("node:fs/promises");
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const rec = (inputs: number[], outputs: number[], device = "d1"): CaptureRecord => ({
  fleet: "f",
  device,
  model: "m",
  modelVersion: "1",
  inferenceTime: undefined,
  tensors: [
    { kind: "input", name: "input", values: inputs },
    { kind: "output", name: "probabilities", values: outputs },
  ],
});

describe("baseline writer (Model Monitor statistics.json / constraints.json)", () => {
  it("profiles a CSV with header: types, completeness, categorical domains, KLL sketch", async () => {
    const s = await profileSample(join(fixtures, "sample.csv"));
    expect(s).toMatchObject({ format: "csv", records: 4 });
    const stats = statisticsJson(s.features, s.records);
    const temp = stats.features.find((f) => f.name === "temperature");
    expect(temp).toMatchObject({
      inferred_type: "Fractional",
      numerical_statistics: {
        common: { num_present: 3, num_missing: 1 },
        mean: 20.333333333333332,
        sum: 61,
        min: 19.5,
        max: 21,
      },
    });
    expect(temp?.numerical_statistics?.distribution?.kll?.sketch).toEqual({
      parameters: { c: 0.64, k: 2048 },
      data: [[20.5, 21, 19.5]],
    });
    expect(temp?.numerical_statistics?.distribution?.kll?.buckets).toHaveLength(10);
    expect(stats.features.find((f) => f.name === "id")?.inferred_type).toBe("Integral");
    expect(stats.features.find((f) => f.name === "label")).toMatchObject({
      inferred_type: "String",
      string_statistics: {
        distinct_count: 2,
        distribution: {
          categorical: {
            buckets: [
              { value: "a", count: 3 },
              { value: "b", count: 1 },
            ],
          },
        },
      },
    });
    const cons = constraintsJson(s.features, s.records);
    expect(cons.features.find((f) => f.name === "temperature")).toEqual({
      name: "temperature",
      inferred_type: "Fractional",
      completeness: 0.75,
      num_constraints: { is_non_negative: true },
    });
    expect(cons.features.find((f) => f.name === "comment")?.string_constraints?.domains).toEqual([
      "hello, world",
      "plain",
      'say "hi"',
    ]);
    expect(cons.monitoring_config?.distribution_constraints).toEqual({
      perform_comparison: "Enabled",
      comparison_threshold: 0.1,
      comparison_method: "Robust",
      categorical_comparison_threshold: 0.1,
      categorical_drift_method: "LInfinity",
    });
  });

  it("CSV fields: quotes, doubled quotes, empty fields", () => {
    expect(parseCsvLine('a,"b,c","d ""e""",,f')).toEqual(["a", "b,c", 'd "e"', "", "f"]);
  });

  it("profiles JSON Lines of objects and capture files alike", async () => {
    const d = await tmp();
    await writeFile(
      join(d, "rows.jsonl"),
      '{"x":1,"v":[0.5,1.5],"tag":"a","ok":true}\n{"x":2,"v":[1,2],"tag":null}\nnot json\n',
    );
    const j = await profileSample(join(d, "rows.jsonl"));
    expect(j.format).toBe("jsonl");
    expect(j.records).toBe(2);
    expect(j.skipped).toEqual([
      { file: join(d, "rows.jsonl"), line: 3, reason: expect.stringMatching(/^invalid JSON/) },
    ]);
    expect(j.features.map((f) => f.name)).toEqual(["x", "v_0", "v_1", "tag", "ok"]);

    await writeFile(
      join(d, "cap.jsonl"),
      `${captureLine()}\n${captureLine({ inputs: new Float32Array(16).fill(1.5) })}\n`,
    );
    const c = await profileSample(join(d, "cap.jsonl"));
    expect(c.format).toBe("capture");
    const stats = statisticsJson(c.features, c.records);
    expect(stats.dataset.item_count).toBe(2);
    expect(stats.features.map((f) => f.name)).toEqual([
      ...Array.from({ length: 16 }, (_, i) => `input_${i}`),
      "probabilities_0",
      "probabilities_1",
      "probabilities_2",
      "probabilities_argmax",
    ]);
    expect(stats.features[0]?.numerical_statistics).toMatchObject({ mean: 1, min: 0.5, max: 1.5 });
    expect(stats.features[19]).toMatchObject({
      inferred_type: "String",
      string_statistics: { distribution: { categorical: { buckets: [{ value: "1", count: 2 }] } } },
    });
  });
});

describe("comparison with a Model Monitor baseline", () => {
  it("reads sketches and bucket-only distributions", async () => {
    const b = await loadBaselineDir(join(fixtures, "model-monitor"));
    expect(b.features.get("input_0")?.numeric?.sample.n).toBe(8);
    expect(b.features.get("input_1")?.numeric?.sample.values).toEqual(new Float64Array([1.5, 2]));
    expect(b.features.get("probabilities_argmax")?.categories).toEqual(
      new Map([
        ["0", 4],
        ["1", 4],
      ]),
    );
    expect(b.features.has("gone")).toBe(true);
  });

  it("raises each check type with feature and description", async () => {
    const baseline = await loadBaselineDir(join(fixtures, "model-monitor"));
    const g = new GroupProfile("m", "f", "*");
    // input_0 shifted up by 0.5 (drift); input_1 fractional (data type) and missing in one record
    // (completeness); label "2" outside the domain; "input_2" is extra; "gone" is missing.
    const rows = [
      [
        [0.5, 1.5, 3],
        [0.9, 0.1],
      ],
      [
        [0.625, 1, 3],
        [0.1, 0.9],
      ],
      [
        [0.75, 2, 3],
        [0.1, 0.9],
      ],
      [
        [0.875, 1, 3],
        [0.2, 0.1, 0.7],
      ],
      [[1.0], [0.9, 0.1]],
    ] as const;
    for (const [i, o] of rows) g.add(rec([...i], [...o]));
    const r = compareToBaseline(baseline, g, { total: 6, valid: 5, quarantined: 1 });
    const byCheck = (t: string) =>
      r.violations.filter((v) => v.constraint_check_type === t).map((v) => v.feature_name);
    // input_1 drifts too: its bucket-only baseline sits at 1.5 and 2, half the current values are 1.
    expect(byCheck("baseline_drift_check")).toEqual(["input_0", "input_1", "probabilities_argmax"]);
    expect(byCheck("data_type_check")).toEqual(["input_1"]);
    expect(byCheck("completeness_check")).toEqual(["input_1"]);
    expect(byCheck("categorical_values_check")).toEqual(["probabilities_argmax"]);
    expect(byCheck("missing_column_check")).toEqual(["gone"]);
    expect(byCheck("extra_column_check")).toEqual([
      "input_2",
      "probabilities_0",
      "probabilities_1",
      "probabilities_2",
    ]);
    expect(
      r.violations.find((v) => v.constraint_check_type === "categorical_values_check")?.description,
    ).toBe(
      'Data content requirement is not met. Expected: 100.0% of values within the baseline domain, observed: 80.0% (values not in the baseline: "2")',
    );
    const drift = r.violations.find(
      (v) => v.feature_name === "input_0" && v.constraint_check_type === "baseline_drift_check",
    );
    const f0 = r.features.find((f) => f.name === "input_0");
    expect(f0).toMatchObject({ method: "Simple", threshold: 0.3, drifted: true, n: 8, m: 5 });
    // Baseline CDF at 0.5 is 6/8 (0, .125, .25, .375 weight 1, 0.5 weight 2); current CDF at 0.5 is 1/5.
    expect(f0?.distance).toBeCloseTo(0.75 - 0.2, 12);
    expect(drift?.description).toBe(
      "Baseline drift distance: 0.55 exceeds threshold: 0.3 (method Simple, baseline n=8, current n=5)",
    );
    expect(r.violations.find((v) => v.constraint_check_type === "completeness_check")?.description).toBe(
      "Data completeness requirement is not met. Expected completeness: 100.0%, observed: 80.0% (1 of 5 records missing or non-finite)",
    );
    expect(r.violations.find((v) => v.constraint_check_type === "data_type_check")?.description).toBe(
      "Data type match requirement is not met. Expected data type: Integral, Expected match: 100.0%. Observed: Only 75.0% of data is Integral.",
    );
    expect(r.drifted).toBe(true);
  });

  it("no violations when current matches the baseline it was written from", async () => {
    const g = new GroupProfile("m", "f", "d");
    for (let i = 0; i < 500; i++) g.add(rec([i % 10, (i * 7) % 13], [0.2, (i % 3) / 3]));
    const stats = statisticsJson(g.features(), g.records);
    const cons = constraintsJson(g.features(), g.records);
    const d = await tmp();
    await writeFile(join(d, "s.json"), JSON.stringify(stats));
    const baseline = readBaseline(JSON.parse(await readFile(join(d, "s.json"), "utf8")), cons);
    const r = compareToBaseline(baseline, g, { total: 500, valid: 500, quarantined: 0 });
    expect(r.violations).toEqual([]);
    expect(r.features.every((f) => f.distance === 0)).toBe(true);
  });

  it("ChiSquared for categorical features when constraints ask for it", async () => {
    const baseline = await loadBaselineDir(join(fixtures, "model-monitor"));
    const dc = baseline.constraints.monitoring_config?.distribution_constraints;
    if (dc) dc.categorical_drift_method = "ChiSquared";
    const g = new GroupProfile("m", "f", "*");
    for (let i = 0; i < 60; i++) g.add(rec([0.4, 1], [0.9, 0.1]));
    for (let i = 0; i < 40; i++) g.add(rec([0.4, 1], [0.1, 0.9]));
    const label = compareToBaseline(baseline, g, { total: 100, valid: 100, quarantined: 0 }).features.find(
      (f) => f.name === "probabilities_argmax",
    );
    // Expected 50/50: (10² + 10²)/50 = 4 → p = 0.0455 < 0.1
    expect(label).toMatchObject({
      method: "ChiSquared",
      threshold: 0.1,
      drifted: true,
      chiSquare: { statistic: 4, degreesOfFreedom: 1 },
    });
    expect(label?.distance).toBeCloseTo(0.0455003, 6);
  });
});
