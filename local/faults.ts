/**
 * Fault injection for tests and demos: throttling, latency and forced job failures, set at start
 * and changed at runtime through `POST /_edge-mlops/faults`.
 */

import { createRng } from "../examples/prng.ts";

export interface JobFailureRule {
  /** Job kind: "compilation", "edge-packaging", or "*" for any. */
  kind?: string;
  /** Regular expression matched against the job name. */
  pattern: string;
  /** FailureReason the job ends with. */
  reason?: string;
}

export interface FaultConfig {
  /** Probability 0–1 that a request is refused with the service's throttling error; keys are SigV4 service names, "service:Operation", or "*". */
  throttle?: Record<string, number>;
  /** Milliseconds (wall clock) added before each request is handled; same keys as `throttle`. */
  latencyMs?: Record<string, number>;
  failJobs?: JobFailureRule[];
  /** Seed for the throttling draw, so a test sees the same sequence every run. */
  seed?: number;
}

/** Thrown for a fault configuration that cannot apply (bad probability, bad pattern). */
export class FaultConfigError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "FaultConfigError";
  }
}

function validate(config: FaultConfig): void {
  for (const [key, p] of Object.entries(config.throttle ?? {})) {
    if (typeof p !== "number" || !(p >= 0 && p <= 1))
      throw new FaultConfigError(`throttle.${key} must be a number in [0, 1], got ${JSON.stringify(p)}`);
  }
  for (const [key, ms] of Object.entries(config.latencyMs ?? {})) {
    if (typeof ms !== "number" || !(ms >= 0))
      throw new FaultConfigError(`latencyMs.${key} must be a number >= 0, got ${JSON.stringify(ms)}`);
  }
  for (const [i, rule] of (config.failJobs ?? []).entries()) {
    if (typeof rule?.pattern !== "string")
      throw new FaultConfigError(`failJobs[${i}].pattern must be a string`);
    try {
      new RegExp(rule.pattern);
    } catch (error) {
      throw new FaultConfigError(`failJobs[${i}].pattern is not a valid regular expression`, {
        cause: error,
      });
    }
  }
}

export class Faults {
  private config: FaultConfig = {};
  private random: () => number = Math.random;
  /** Requests refused with a throttling error, per "service:Operation". */
  readonly throttled = new Map<string, number>();

  constructor(config: FaultConfig = {}) {
    this.set(config);
  }

  /** Replaces the whole configuration. */
  set(config: FaultConfig): void {
    validate(config);
    this.config = structuredClone(config);
    this.random = config.seed === undefined ? Math.random : createRng(config.seed).next;
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  private lookup(table: Record<string, number> | undefined, service: string, operation?: string): number {
    if (!table) return 0;
    const specific = operation === undefined ? undefined : table[`${service}:${operation}`];
    return specific ?? table[service] ?? table["*"] ?? 0;
  }

  shouldThrottle(service: string, operation?: string): boolean {
    const p = this.lookup(this.config.throttle, service, operation);
    if (p <= 0 || this.random() >= p) return false;
    const key = `${service}:${operation ?? ""}`;
    this.throttled.set(key, (this.throttled.get(key) ?? 0) + 1);
    return true;
  }

  latencyMs(service: string, operation?: string): number {
    return this.lookup(this.config.latencyMs, service, operation);
  }

  /** The FailureReason a job must end with, or undefined when no rule matches it. */
  jobFailure(kind: string, jobName: string): string | undefined {
    const rule = this.config.failJobs?.find(
      (r) =>
        (r.kind === undefined || r.kind === "*" || r.kind === kind) && new RegExp(r.pattern).test(jobName),
    );
    if (!rule) return undefined;
    return (
      rule.reason ?? `ClientError: forced failure injected by the local endpoint (pattern ${rule.pattern})`
    );
  }
}
