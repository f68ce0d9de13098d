/** Model Monitor's file shapes (statistics.json, constraints.json, constraint_violations.json). */
import type { KllJson } from "./kll.ts";

export type InferredType = "Integral" | "Fractional" | "String" | "Unknown";

export interface CommonStats {
  num_present: number;
  num_missing: number;
}

export interface NumericalStatistics {
  common: CommonStats;
  mean: number;
  sum: number;
  std_dev: number;
  min: number;
  max: number;
  distribution?: {
    kll?: {
      buckets?: { lower_bound: number; upper_bound: number; count: number }[];
      sketch?: KllJson;
    };
  };
}

export interface StringStatistics {
  common: CommonStats;
  distinct_count: number;
  distribution?: { categorical?: { buckets: { value: string; count: number }[] } };
}

export interface StatisticsFeature {
  name: string;
  inferred_type: InferredType;
  numerical_statistics?: NumericalStatistics;
  string_statistics?: StringStatistics;
}

export interface StatisticsJson {
  version: number;
  dataset: { item_count: number };
  features: StatisticsFeature[];
}

export type ComparisonMethod = "Simple" | "Robust";
export type CategoricalDriftMethod = "LInfinity" | "ChiSquared";

export interface DistributionConstraints {
  perform_comparison?: "Enabled" | "Disabled";
  comparison_threshold?: number;
  comparison_method?: ComparisonMethod;
  categorical_comparison_threshold?: number;
  categorical_drift_method?: CategoricalDriftMethod;
}

export interface ConstraintsFeature {
  name: string;
  inferred_type: InferredType;
  completeness?: number;
  num_constraints?: { is_non_negative?: boolean };
  string_constraints?: { domains?: string[] };
  /** Per-feature overrides of monitoring_config keys (e.g. comparison_threshold). */
  monitoringConfigOverrides?: Partial<DistributionConstraints>;
}

export interface MonitoringConfig {
  evaluate_constraints?: "Enabled" | "Disabled";
  emit_metrics?: "Enabled" | "Disabled";
  datatype_check_threshold?: number;
  domain_content_threshold?: number;
  distribution_constraints?: DistributionConstraints;
}

export interface ConstraintsJson {
  version: number;
  features: ConstraintsFeature[];
  monitoring_config?: MonitoringConfig;
}

export type ConstraintCheckType =
  | "baseline_drift_check"
  | "data_type_check"
  | "completeness_check"
  | "missing_column_check"
  | "extra_column_check"
  | "categorical_values_check";

export interface Violation {
  feature_name: string;
  constraint_check_type: ConstraintCheckType;
  description: string;
}

export interface ViolationsJson {
  violations: Violation[];
}

/** Model Monitor's suggested defaults, used where constraints.json is silent. */
export const MONITORING_DEFAULTS = {
  evaluate_constraints: "Enabled",
  emit_metrics: "Enabled",
  datatype_check_threshold: 1.0,
  domain_content_threshold: 1.0,
  distribution_constraints: {
    perform_comparison: "Enabled",
    comparison_threshold: 0.1,
    comparison_method: "Robust",
    categorical_comparison_threshold: 0.1,
    categorical_drift_method: "LInfinity",
  },
} as const satisfies MonitoringConfig;
