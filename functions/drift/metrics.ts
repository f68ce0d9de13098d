import { Metrics, type MetricUnit } from "@aws-lambda-powertools/metrics";

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
export type MetricValue = [name: string, unit: Unit, value: number];

/**
 * CloudWatch metrics in EMF under EdgeMlops/Drift. Powertools adds a `service` dimension by default;
 * it is cleared so dashboards and alarms use exactly model, fleet[, device][, feature].
 */
export function driftMetrics(): Metrics {
  const m = new Metrics({ namespace: "EdgeMlops/Drift", serviceName: "edge-mlops" });
  m.clearDefaultDimensions();
  return m;
}

export const metrics = driftMetrics();

/** Publishes `values` as one EMF document with exactly `dimensions`. */
export function emit(m: Metrics, dimensions: Record<string, string>, values: MetricValue[]): void {
  if (values.length === 0) return;
  m.addDimensions(dimensions);
  for (const [name, unit, value] of values) m.addMetric(name, unit, value);
  m.publishStoredMetrics();
}
