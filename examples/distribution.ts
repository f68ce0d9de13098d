import type { Rng } from "./prng.ts";

/**
 * The input distribution of the example classifier: 16 independent normal features. The
 * training sample and its baseline are drawn from it, and the simulated fleet's traffic
 * generator draws from it too, so undrifted traffic matches the baseline.
 */
export const FEATURE_COUNT = 16;

/** Seed of the committed training sample (`examples/data/training-sample.csv`). */
export const TRAINING_SEED = 20240426;
export const TRAINING_ROWS = 2000;

export interface FeatureDistribution {
  name: string;
  mean: number;
  std: number;
}

const means = [0, 1.5, -2, 10, 0.5, -0.5, 3, 25, -7.5, 0.1, 4, -1, 100, 2.5, -3, 0.75];
const stds = [1, 0.5, 2, 3, 0.25, 1.5, 1, 5, 2.5, 0.05, 1.2, 0.8, 15, 0.6, 1.1, 0.3];

export const featureDistributions: readonly FeatureDistribution[] = means.map((mean, i) => ({
  name: `input_${i}`,
  mean,
  std: stds[i] ?? 1,
}));

export const featureNames: readonly string[] = featureDistributions.map((f) => f.name);

/** Drift applied to one feature: `value * scale + shift` after sampling. */
export interface FeatureDrift {
  /** Feature index 0–15 or name `input_<i>`. */
  feature: number | string;
  shift?: number;
  scale?: number;
}

/**
 * One input row. Values are rounded to 4 decimals so the CSV and the float32 tensors agree.
 * @example const x = sampleFeatures(createRng(7), [{ feature: "input_3", shift: 6 }]);
 */
export function sampleFeatures(rng: Rng, drift: readonly FeatureDrift[] = []): Float32Array {
  const row = new Float32Array(FEATURE_COUNT);
  featureDistributions.forEach((f, i) => {
    row[i] = round4(f.mean + f.std * rng.normal());
  });
  for (const d of drift) {
    const index = typeof d.feature === "number" ? d.feature : featureNames.indexOf(d.feature);
    const value = row[index];
    if (value === undefined) throw new RangeError(`unknown feature ${String(d.feature)}`);
    row[index] = round4(value * (d.scale ?? 1) + (d.shift ?? 0));
  }
  return row;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
