import semver from "semver";
import { featureDistributions, type FeatureDrift as SampleDrift } from "../../examples/distribution.ts";
import type { FeatureDrift } from "./types.ts";

/** A drift knob names a feature the example distribution does not have. */
export class UnknownFeatureError extends Error {
  constructor(readonly feature: string) {
    super(
      `unknown feature ${feature}; expected one of ${featureDistributions.map((f) => f.name).join(", ")}`,
    );
    this.name = "UnknownFeatureError";
  }
}

/**
 * The drift that applies to one request: knobs whose window has opened (time and/or model
 * version reached), turned into absolute shifts using the feature's standard deviation.
 * @example activeDrift([{ feature: "input_3", shiftSigmas: 2 }], Date.now(), "1.1.0") // [{ feature: "input_3", shift: 6 }]
 */
export function activeDrift(
  knobs: readonly FeatureDrift[] | undefined,
  now: number,
  modelVersion: string | undefined,
): SampleDrift[] {
  const out: SampleDrift[] = [];
  for (const knob of knobs ?? []) {
    if (knob.fromTime !== undefined && now < knob.fromTime) continue;
    if (
      knob.fromVersion !== undefined &&
      (!modelVersion || !semver.valid(modelVersion) || semver.lt(modelVersion, knob.fromVersion))
    )
      continue;
    const dist = featureDistributions.find((f) => f.name === knob.feature);
    if (!dist) throw new UnknownFeatureError(knob.feature);
    // Rescaling is about the mean so a pure scale widens the distribution without moving it.
    const scale = knob.scale ?? 1;
    out.push({
      feature: knob.feature,
      scale,
      shift: (knob.shiftSigmas ?? 0) * dist.std + dist.mean * (1 - scale),
    });
  }
  return out;
}

/** Parses "input_3" or "3" into the feature name, refusing names the model does not take. */
export function featureName(raw: string): string {
  const name = /^\d+$/.test(raw) ? `input_${raw}` : raw;
  if (!featureDistributions.some((f) => f.name === name)) throw new UnknownFeatureError(raw);
  return name;
}
