import type { Baseline, BaselineFeature } from "./baseline.ts";
import { binnedDistances, categoricalLinf, chiSquare, linf, robustLinf } from "./distances.ts";
import { sampleOf, type WeightedSample } from "./kll.ts";
import {
  type ConstraintCheckType,
  type DistributionConstraints,
  MONITORING_DEFAULTS,
  type Violation,
} from "./monitor-format.ts";
import type { FeatureStats, GroupProfile, RecordCounts } from "./profile.ts";
import type { TensorKind } from "./record.ts";
import { CategoricalStats, NumericStats } from "./stats.ts";

export type DriftMethod = "Simple" | "Robust" | "LInfinity" | "ChiSquared";

/** Per-feature comparison. For ChiSquared, `distance` is the p-value and drift means p < threshold. */
export interface FeatureDrift {
  name: string;
  kind: TensorKind;
  type: "numeric" | "categorical";
  method: DriftMethod;
  distance: number | null;
  threshold: number;
  drifted: boolean;
  /** Sizes compared: baseline n, current m (finite values / categorised values). */
  n: number;
  m: number;
  /** Plain L∞ (before any Robust correction). */
  linf: number | null;
  psi: number | null;
  jensenShannon: number | null;
  chiSquare?: { statistic: number; degreesOfFreedom: number; pValue: number };
  completeness: number;
  nonFinite: number;
}

export interface DriftResult {
  model: string;
  fleet: string;
  device: string;
  records: RecordCounts;
  features: FeatureDrift[];
  violations: Violation[];
  /** True when any baseline_drift_check violation was raised. */
  drifted: boolean;
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)).toString() : String(x));

/**
 * Compares a profiled group with a Model Monitor baseline: drift distances per feature and the
 * constraint violations Model Monitor would report (drift, data type, completeness, missing and
 * extra columns, categorical values).
 * @example const result = compareToBaseline(baseline, profile.rollup(), profile.records);
 */
export function compareToBaseline(
  baseline: Baseline,
  group: GroupProfile,
  records: RecordCounts,
): DriftResult {
  const config = baseline.constraints.monitoring_config ?? {};
  const evaluate = (config.evaluate_constraints ?? MONITORING_DEFAULTS.evaluate_constraints) !== "Disabled";
  const dataTypeThreshold = config.datatype_check_threshold ?? MONITORING_DEFAULTS.datatype_check_threshold;
  const domainThreshold = config.domain_content_threshold ?? MONITORING_DEFAULTS.domain_content_threshold;
  const current = new Map(group.features().map((f) => [f.name, f]));
  const features: FeatureDrift[] = [];
  const violations: Violation[] = [];
  const violate = (feature_name: string, constraint_check_type: ConstraintCheckType, description: string) => {
    if (evaluate) violations.push({ feature_name, constraint_check_type, description });
  };
  const rows = group.records;
  const currentColumns = [...current.values()].filter((f) => f.stats.present > 0).length;
  const baselineColumns = baseline.features.size;

  for (const b of baseline.features.values()) {
    const f = current.get(b.name);
    if (f === undefined || f.stats.present === 0) {
      violate(
        b.name,
        "missing_column_check",
        `There are missing columns in current dataset. Number of columns in current dataset: ${currentColumns}, Number of columns in baseline constraints: ${baselineColumns}`,
      );
      continue;
    }
    const completeness = rows === 0 ? 0 : f.stats.present / rows;
    const expected = b.constraints?.completeness;
    if (expected !== undefined && completeness + 1e-12 < expected) {
      violate(
        b.name,
        "completeness_check",
        `Data completeness requirement is not met. Expected completeness: ${pct(expected)}, observed: ${pct(completeness)} (${rows - f.stats.present} of ${rows} records missing or non-finite)`,
      );
    }
    checkDataType(b, f, dataTypeThreshold, violate);
    checkDomain(b, f, domainThreshold, violate);
    const drift = compareFeature(b, f, completeness, {
      ...MONITORING_DEFAULTS.distribution_constraints,
      ...config.distribution_constraints,
      ...b.constraints?.monitoringConfigOverrides,
    });
    if (drift === undefined) continue;
    features.push(drift);
    if (drift.drifted) {
      const how =
        drift.method === "ChiSquared"
          ? `Chi-squared p-value: ${fmt(drift.distance ?? Number.NaN)} is below threshold: ${fmt(drift.threshold)}`
          : `Baseline drift distance: ${fmt(drift.distance ?? Number.NaN)} exceeds threshold: ${fmt(drift.threshold)}`;
      violate(
        b.name,
        "baseline_drift_check",
        `${how} (method ${drift.method}, baseline n=${drift.n}, current n=${drift.m})`,
      );
    }
  }
  for (const f of current.values()) {
    if (baseline.features.has(f.name) || f.stats.present === 0) continue;
    violate(
      f.name,
      "extra_column_check",
      `There are extra columns in current dataset. Number of columns in current dataset: ${currentColumns}, Number of columns in baseline constraints: ${baselineColumns}`,
    );
  }
  return {
    model: group.model,
    fleet: group.fleet,
    device: group.device,
    records: { ...records },
    features,
    violations,
    drifted: violations.some((v) => v.constraint_check_type === "baseline_drift_check"),
  };
}

function checkDataType(
  b: BaselineFeature,
  f: FeatureStats,
  threshold: number,
  violate: (n: string, t: ConstraintCheckType, d: string) => void,
): void {
  if (b.inferredType !== "Integral" && b.inferredType !== "Fractional") return;
  let matching: number;
  if (f.stats instanceof NumericStats)
    matching = b.inferredType === "Integral" ? f.stats.integral : f.stats.present;
  else
    matching = [...f.stats.counts()].reduce(
      (n, [v, c]) => n + (isNumeric(v, b.inferredType === "Integral") ? c : 0),
      0,
    );
  const ratio = f.stats.present === 0 ? 1 : matching / f.stats.present;
  if (ratio + 1e-12 < threshold) {
    violate(
      b.name,
      "data_type_check",
      `Data type match requirement is not met. Expected data type: ${b.inferredType}, Expected match: ${pct(threshold)}. Observed: Only ${pct(ratio)} of data is ${b.inferredType}.`,
    );
  }
}

function checkDomain(
  b: BaselineFeature,
  f: FeatureStats,
  threshold: number,
  violate: (n: string, t: ConstraintCheckType, d: string) => void,
): void {
  const domains = b.constraints?.string_constraints?.domains;
  if (domains === undefined || !(f.stats instanceof CategoricalStats) || f.stats.present === 0) return;
  const allowed = new Set(domains);
  const unseen: string[] = [];
  let inside = 0;
  for (const [v, c] of f.stats.counts()) {
    if (allowed.has(v)) inside += c;
    else unseen.push(v);
  }
  const ratio = inside / f.stats.present;
  if (ratio + 1e-12 < threshold) {
    const shown = unseen
      .slice(0, 5)
      .map((v) => JSON.stringify(v))
      .join(", ");
    violate(
      b.name,
      "categorical_values_check",
      `Data content requirement is not met. Expected: ${pct(threshold)} of values within the baseline domain, observed: ${pct(ratio)} (values not in the baseline: ${shown}${unseen.length > 5 ? ", …" : ""})`,
    );
  }
}

const isNumeric = (v: string, integral: boolean) =>
  v.trim() !== "" && Number.isFinite(Number(v)) && (!integral || Number.isInteger(Number(v)));

function compareFeature(
  b: BaselineFeature,
  f: FeatureStats,
  completeness: number,
  dc: DistributionConstraints,
): FeatureDrift | undefined {
  const perform = dc.perform_comparison !== "Disabled";
  const base = { name: f.name, kind: f.kind, completeness, nonFinite: f.stats.nonFinite };
  if (b.numeric !== undefined) {
    const cur = currentSample(f);
    if (cur === undefined) return undefined;
    const method = dc.comparison_method === "Simple" ? "Simple" : "Robust";
    const threshold =
      dc.comparison_threshold ?? MONITORING_DEFAULTS.distribution_constraints.comparison_threshold;
    const d = linf(b.numeric.sample, cur);
    const n = b.numeric.n;
    const m = cur.n;
    const distance = method === "Robust" ? robustLinf(d, n, m) : d;
    const binned = binnedDistances(b.numeric.sample, cur);
    return {
      ...base,
      type: "numeric",
      method,
      distance: finiteOrNull(distance),
      threshold,
      drifted: perform && distance > threshold,
      n,
      m,
      linf: finiteOrNull(d),
      psi: finiteOrNull(binned.psi),
      jensenShannon: finiteOrNull(binned.jensenShannon),
    };
  }
  if (b.categories !== undefined) {
    const counts = f.stats instanceof CategoricalStats ? f.stats.counts() : undefined;
    if (counts === undefined) return undefined;
    const method = dc.categorical_drift_method === "ChiSquared" ? "ChiSquared" : "LInfinity";
    const threshold =
      dc.categorical_comparison_threshold ??
      MONITORING_DEFAULTS.distribution_constraints.categorical_comparison_threshold;
    const d = categoricalLinf(b.categories, counts);
    const n = [...b.categories.values()].reduce((a, c) => a + c, 0);
    const m = f.stats.present;
    const common = {
      ...base,
      type: "categorical" as const,
      threshold,
      n,
      m,
      linf: finiteOrNull(d),
      psi: null,
      jensenShannon: null,
    };
    if (method === "ChiSquared") {
      const chi = chiSquare(b.categories, counts);
      return {
        ...common,
        method,
        distance: finiteOrNull(chi.pValue),
        drifted: perform && chi.pValue < threshold,
        chiSquare: chi,
      };
    }
    return { ...common, method, distance: finiteOrNull(d), drifted: perform && d > threshold };
  }
  return undefined;
}

/** The current distribution as a weighted sample; categorical values that are numbers count as numeric. */
export function currentSample(f: FeatureStats): WeightedSample | undefined {
  if (f.stats instanceof NumericStats) return f.stats.present === 0 ? undefined : f.stats.sketch.weighted();
  const pairs = [...f.stats.counts()].filter(([v]) => isNumeric(v, false));
  if (pairs.length === 0) return undefined;
  return sampleOf(
    pairs.map(([v]) => Number(v)),
    pairs.map(([, c]) => c),
  );
}
