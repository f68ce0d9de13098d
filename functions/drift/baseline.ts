import { BaselineError } from "./errors.ts";
import { KllSketch, quantileOf, type WeightedSample } from "./kll.ts";
import {
  type ConstraintsFeature,
  type ConstraintsJson,
  type InferredType,
  MONITORING_DEFAULTS,
  type StatisticsFeature,
  type StatisticsJson,
} from "./monitor-format.ts";
import type { FeatureStats } from "./profile.ts";
import { CategoricalStats, NumericStats } from "./stats.ts";

/** One baseline feature, ready for comparison. */
export interface BaselineFeature {
  name: string;
  inferredType: InferredType;
  /** Present for numeric features: the baseline distribution and its size. */
  numeric?: { n: number; sample: WeightedSample; min: number; max: number; mean: number; std: number };
  /** Present for string features. */
  categories?: Map<string, number>;
  constraints: ConstraintsFeature | undefined;
}

export interface Baseline {
  features: Map<string, BaselineFeature>;
  constraints: ConstraintsJson;
  itemCount: number;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Reads Model Monitor statistics.json + constraints.json (already parsed). Numeric distributions
 * come from `distribution.kll.sketch`, or from `buckets` when a file has no sketch.
 * @example const b = readBaseline(JSON.parse(stats), JSON.parse(constraints));
 */
export function readBaseline(statistics: unknown, constraints: unknown): Baseline {
  if (!isObj(statistics) || !Array.isArray(statistics.features)) {
    throw new BaselineError("statistics.json has no features array");
  }
  if (!isObj(constraints) || !Array.isArray(constraints.features)) {
    throw new BaselineError("constraints.json has no features array");
  }
  const cons = constraints as unknown as ConstraintsJson;
  const byName = new Map(cons.features.map((f) => [f.name, f]));
  const features = new Map<string, BaselineFeature>();
  for (const raw of statistics.features as StatisticsFeature[]) {
    if (!isObj(raw) || typeof raw.name !== "string")
      throw new BaselineError("statistics.json feature without a name");
    try {
      features.set(raw.name, readFeature(raw, byName.get(raw.name)));
    } catch (err) {
      throw new BaselineError(`statistics.json feature ${raw.name}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  // A feature only in constraints still takes part in the missing/extra column checks.
  for (const c of cons.features) {
    if (!features.has(c.name))
      features.set(c.name, { name: c.name, inferredType: c.inferred_type, constraints: c });
  }
  const dataset = (statistics as { dataset?: { item_count?: unknown } }).dataset;
  return {
    features,
    constraints: cons,
    itemCount: typeof dataset?.item_count === "number" ? dataset.item_count : 0,
  };
}

function readFeature(f: StatisticsFeature, constraints: ConstraintsFeature | undefined): BaselineFeature {
  const out: BaselineFeature = { name: f.name, inferredType: f.inferred_type, constraints };
  const ns = f.numerical_statistics;
  if (ns !== undefined) {
    const kll = ns.distribution?.kll;
    let sample: WeightedSample;
    if (kll?.sketch !== undefined) sample = KllSketch.fromJSON(kll.sketch).weighted();
    else if (Array.isArray(kll?.buckets) && kll.buckets.length > 0) sample = fromBuckets(kll.buckets);
    else throw new Error("numerical_statistics has neither distribution.kll.sketch nor buckets");
    out.numeric = {
      n: ns.common?.num_present ?? sample.n,
      sample,
      min: ns.min,
      max: ns.max,
      mean: ns.mean,
      std: ns.std_dev,
    };
  }
  const ss = f.string_statistics;
  if (ss !== undefined) {
    const buckets = ss.distribution?.categorical?.buckets ?? [];
    out.categories = new Map(buckets.map((b) => [String(b.value), Number(b.count)]));
  }
  return out;
}

/** Bucket counts as a weighted sample at each bucket's upper bound (coarser than a sketch). */
function fromBuckets(buckets: { lower_bound: number; upper_bound: number; count: number }[]): WeightedSample {
  const sorted = [...buckets].sort((a, b) => a.upper_bound - b.upper_bound);
  const values = new Float64Array(sorted.length);
  const cum = new Float64Array(sorted.length);
  let acc = 0;
  sorted.forEach((b, i) => {
    values[i] = b.upper_bound;
    acc += b.count;
    cum[i] = acc;
  });
  return { values, cum, n: acc };
}

/** Model Monitor's inferred type of a profiled feature. */
export function inferredTypeOf(f: FeatureStats): InferredType {
  if (f.stats instanceof CategoricalStats) return "String";
  if (f.stats.present === 0) return "Unknown";
  return f.stats.integral === f.stats.present ? "Integral" : "Fractional";
}

/** Equal-width buckets between min and max, counts read from the sketch (Model Monitor materializes 10). */
export function kllBuckets(
  s: NumericStats,
  count = 10,
): { lower_bound: number; upper_bound: number; count: number }[] {
  if (s.present === 0) return [];
  const w = s.sketch.weighted();
  const width = (s.max - s.min) / count;
  const out = [];
  let prev = 0;
  for (let i = 0; i < count; i++) {
    const lower = s.min + i * width;
    const upper = i === count - 1 ? s.max : s.min + (i + 1) * width;
    const cdf = i === count - 1 ? w.n : cumulativeAt(w, upper);
    out.push({ lower_bound: lower, upper_bound: upper, count: cdf - prev });
    prev = cdf;
  }
  return out;
}

function cumulativeAt(w: WeightedSample, x: number): number {
  let lo = 0;
  let hi = w.values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((w.values[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : (w.cum[lo - 1] as number);
}

/**
 * statistics.json for profiled features. `records` is the row count: num_missing counts rows
 * without a usable (finite) value.
 */
export function statisticsJson(features: FeatureStats[], records: number): StatisticsJson {
  return {
    version: 0,
    dataset: { item_count: records },
    features: features.map((f): StatisticsFeature => {
      const missing = Math.max(0, records - f.stats.present);
      if (f.stats instanceof CategoricalStats) {
        const counts = [...f.stats.counts()].sort((a, b) => b[1] - a[1]);
        return {
          name: f.name,
          inferred_type: "String",
          string_statistics: {
            common: { num_present: f.stats.present, num_missing: missing },
            distinct_count: counts.length,
            distribution: { categorical: { buckets: counts.map(([value, count]) => ({ value, count })) } },
          },
        };
      }
      const s = f.stats;
      const empty = s.present === 0;
      return {
        name: f.name,
        inferred_type: inferredTypeOf(f),
        numerical_statistics: {
          common: { num_present: s.present, num_missing: missing },
          mean: empty ? 0 : s.mean,
          sum: s.sum,
          std_dev: empty ? 0 : s.stdDev,
          min: empty ? 0 : s.min,
          max: empty ? 0 : s.max,
          distribution: { kll: { buckets: kllBuckets(s), sketch: s.sketch.toJSON() } },
        },
      };
    }),
  };
}

/** Categorical features with at most this many values get a `domains` constraint, as Model Monitor suggests. */
const MAX_DOMAIN = 20;

/** Suggested constraints.json: observed completeness, non-negativity, small domains, default monitoring config. */
export function constraintsJson(features: FeatureStats[], records: number): ConstraintsJson {
  return {
    version: 0,
    features: features.map((f): ConstraintsFeature => {
      const completeness = records === 0 ? 0 : f.stats.present / records;
      const base = { name: f.name, inferred_type: inferredTypeOf(f), completeness };
      if (f.stats instanceof NumericStats)
        return { ...base, num_constraints: { is_non_negative: f.stats.present > 0 && f.stats.min >= 0 } };
      const values = [...f.stats.counts().keys()].sort();
      return values.length <= MAX_DOMAIN ? { ...base, string_constraints: { domains: values } } : base;
    }),
    monitoring_config: structuredClone(MONITORING_DEFAULTS) as ConstraintsJson["monitoring_config"],
  };
}

/** The baseline's median, for the report's summary. */
export const baselineMedian = (f: BaselineFeature) =>
  f.numeric === undefined ? Number.NaN : quantileOf(f.numeric.sample, 0.5);
