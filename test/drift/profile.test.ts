import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Profile } from "../../functions/drift/profile.ts";
import type { CaptureRecord } from "../../functions/drift/record.ts";
import { NumericStats } from "../../functions/drift/stats.ts";

const record = fc.record({
  device: fc.constantFrom("d1", "d2", "d3"),
  inputs: fc.array(
    fc.oneof(
      { weight: 20, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY) },
    ),
    {
      minLength: 1,
      maxLength: 4,
    },
  ),
  outputs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 3 }),
  time: fc.integer({ min: 0, max: 3600 }),
});
type Rec = typeof record extends fc.Arbitrary<infer T> ? T : never;

const toCapture = (r: Rec): CaptureRecord => ({
  fleet: "fleet-a",
  device: r.device,
  model: "m",
  modelVersion: "1",
  inferenceTime: new Date(Date.UTC(2026, 10, 24, 22) + r.time * 1000).toISOString(),
  tensors: [
    { kind: "input", name: "input", values: r.inputs },
    { kind: "output", name: "probabilities", values: r.outputs },
  ],
});

const profileOf = (rs: Rec[]) => {
  const p = new Profile();
  for (const r of rs) p.add(toCapture(r));
  p.addCounts({ total: rs.length, valid: rs.length, quarantined: 0 });
  // Through JSON, as analyze-capture writes it and aggregate-drift reads it.
  return Profile.fromJSON(JSON.parse(JSON.stringify(p)));
};

describe("profiles merge associatively", () => {
  it("merge(profile(A), profile(B), profile(C)) matches profile(A ∪ B ∪ C): counts exactly, moments and sketches within error", () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 80 }),
        fc.array(record, { maxLength: 80 }),
        fc.array(record, { maxLength: 80 }),
        (a, b, c) => {
          const whole = profileOf([...a, ...b, ...c]).toJSON();
          const left = profileOf(a).merge(profileOf(b)).merge(profileOf(c)).toJSON();
          const right = profileOf(a)
            .merge(profileOf(b).merge(profileOf(c)))
            .toJSON();
          for (const merged of [left, right]) {
            expect(merged.records).toEqual(whole.records);
            const byDevice = (j: typeof whole) => new Map(j.groups.map((g) => [g.device, g]));
            const w = byDevice(whole);
            const m = byDevice(merged);
            expect([...m.keys()].sort()).toEqual([...w.keys()].sort());
            for (const [device, wg] of w) {
              const mg = m.get(device);
              expect(mg?.records).toBe(wg.records);
              expect(mg?.firstInferenceTime).toBe(wg.firstInferenceTime);
              expect(mg?.lastInferenceTime).toBe(wg.lastInferenceTime);
              expect(mg?.modelVersions).toEqual(wg.modelVersions);
              const mf = new Map(mg?.features.map((f) => [f.name, f]));
              expect([...mf.keys()].sort()).toEqual(wg.features.map((f) => f.name).sort());
              for (const wf of wg.features) {
                const f = mf.get(wf.name);
                expect(f?.missing).toBe(wf.missing);
                expect(f?.present).toBe(wf.present);
                expect(f?.nonFinite).toBe(wf.nonFinite);
                if (wf.type === "categorical" && f?.type === "categorical")
                  expect(f.counts).toEqual(wf.counts);
                if (wf.type === "numeric" && f?.type === "numeric") {
                  expect(f.min).toBe(wf.min);
                  expect(f.max).toBe(wf.max);
                  expect(f.mean).toBeCloseTo(wf.mean, 8);
                  const sw = NumericStats.fromJSON(wf).sketch;
                  const sm = NumericStats.fromJSON(f).sketch;
                  expect(sm.n).toBe(sw.n);
                  // Below k = 2048 values nothing is compacted: the sketches hold the same values.
                  for (const q of [0.1, 0.5, 0.9]) if (sw.n > 0) expect(sm.quantile(q)).toBe(sw.quantile(q));
                }
              }
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rollup merges devices, labelling what differs with *", () => {
    const p = profileOf([
      { device: "d1", inputs: [1], outputs: [0.9, 0.1], time: 1 },
      { device: "d2", inputs: [3], outputs: [0.1, 0.9], time: 2 },
    ]);
    const all = p.rollup()?.toJSON();
    expect(all).toMatchObject({ model: "m", fleet: "fleet-a", device: "*", records: 2 });
    expect(all?.features.find((f) => f.name === "input_0")).toMatchObject({
      present: 2,
      mean: 2,
      min: 1,
      max: 3,
    });
    expect(all?.features.find((f) => f.name === "probabilities_argmax")).toMatchObject({
      type: "categorical",
      counts: { "0": 1, "1": 1 },
    });
    expect(p.rollup((g) => g.device === "d2")?.toJSON()).toMatchObject({ device: "d2", records: 1 });
  });
});
