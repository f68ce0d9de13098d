import { describe, expect, it } from "vitest";
import { featureDistributions } from "../../examples/distribution.ts";
import { activeDrift, featureName, UnknownFeatureError } from "../../local/fleet/drift.ts";
import { runTraffic, type TrafficTarget } from "../../local/fleet/traffic.ts";

const input3 = featureDistributions[3] as { mean: number; std: number };

describe("drift knobs", () => {
  it("turns a shift in σ into an absolute shift, and rescales about the mean", () => {
    expect(activeDrift([{ feature: "input_3", shiftSigmas: 2 }], 0, undefined)).toEqual([
      { feature: "input_3", scale: 1, shift: 2 * input3.std },
    ]);
    // value·2 + shift keeps the mean where it was: mean·2 + shift = mean.
    const [scaled] = activeDrift([{ feature: "input_3", scale: 2 }], 0, undefined);
    expect(input3.mean * (scaled?.scale ?? 0) + (scaled?.shift ?? 0)).toBeCloseTo(input3.mean);
  });

  it("applies from a time or a model version on", () => {
    const knobs = [
      { feature: "input_1", shiftSigmas: 1, fromTime: 1_000 },
      { feature: "input_2", shiftSigmas: 1, fromVersion: "1.0.2" },
    ];
    expect(activeDrift(knobs, 999, "1.0.1")).toEqual([]);
    expect(activeDrift(knobs, 1_000, "1.0.1").map((d) => d.feature)).toEqual(["input_1"]);
    expect(activeDrift(knobs, 0, "1.0.2").map((d) => d.feature)).toEqual(["input_2"]);
    expect(activeDrift(knobs, 0, undefined)).toEqual([]);
  });

  it("refuses features the model does not take", () => {
    expect(() => activeDrift([{ feature: "input_16", shiftSigmas: 1 }], 0, undefined)).toThrow(
      UnknownFeatureError,
    );
    expect(featureName("7")).toBe("input_7");
    expect(() => featureName("colour")).toThrow(/unknown feature colour; expected one of input_0/);
  });
});

describe("traffic generator", () => {
  it("sends the seeded distribution with each device's drift, counts failures and goes on", async () => {
    const seen: Record<string, Float32Array[]> = { a: [], b: [] };
    let calls = 0;
    const target = (name: string, drift: { feature: string; shiftSigmas: number }[]): TrafficTarget => ({
      thingName: name,
      drift: () => drift,
      modelVersion: () => "1.0.1",
      async predict(features) {
        calls++;
        if (name === "b" && calls % 10 === 0) throw new Error("socket closed");
        seen[name]?.push(features);
        return {};
      },
    });
    const stats = await runTraffic([target("a", []), target("b", [{ feature: "input_3", shiftSigmas: 2 }])], {
      requestsPerDevice: 500,
      seed: 3,
    });
    expect(stats.sent + stats.failed).toBe(1000);
    expect(stats.perDevice.a).toEqual({ sent: 500, failed: 0 });
    expect(stats.perDevice.b?.failed).toBeGreaterThan(0);
    expect(stats.perDevice.b?.lastError).toBe("socket closed");
    const mean = (rows: Float32Array[], i: number) => rows.reduce((s, r) => s + (r[i] ?? 0), 0) / rows.length;
    expect(mean(seen.a as Float32Array[], 3)).toBeCloseTo(input3.mean, 0);
    expect(mean(seen.b as Float32Array[], 3) - input3.mean).toBeCloseTo(2 * input3.std, 0);
    // Only the knob's feature moves.
    expect(mean(seen.b as Float32Array[], 7)).toBeCloseTo(featureDistributions[7]?.mean ?? 0, -1);
  });
});
