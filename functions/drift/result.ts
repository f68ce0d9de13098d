import type { DriftResult, FeatureDrift } from "./compare.ts";
import type { ViolationsJson } from "./monitor-format.ts";
import type { RecordCounts } from "./profile.ts";
import type { QuarantineEntry } from "./record.ts";

/** The CLI's `--json` document (the shape the issue fixes). */
export interface DriftSummaryJson {
  records: RecordCounts;
  features: Pick<FeatureDrift, "name" | "kind" | "method" | "distance" | "threshold" | "drifted">[];
  violations: ViolationsJson["violations"];
  quarantine: QuarantineEntry[];
}

export function summaryJson(result: DriftResult, quarantine: readonly QuarantineEntry[]): DriftSummaryJson {
  return {
    records: { ...result.records },
    features: result.features.map(({ name, kind, method, distance, threshold, drifted }) => ({
      name,
      kind,
      method,
      distance,
      threshold,
      drifted,
    })),
    violations: result.violations,
    quarantine: [...quarantine],
  };
}

/** constraint_violations.json exactly as Model Monitor writes it. */
export const violationsJson = (result: DriftResult): ViolationsJson => ({ violations: result.violations });
