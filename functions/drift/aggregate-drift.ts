import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { requireEnv } from "../shared/env.ts";
import { logger } from "../shared/handler.ts";
import { aggregateDrift } from "./aggregate.ts";
import { metrics } from "./metrics.ts";
import { windowEndingAt } from "./window.ts";

/** Env: RESULTS_BUCKET, CAPTURE_PREFIX, EVENT_BUS_NAME, DRIFT_WINDOW_HOURS (optional, default 1). */
const resultsBucket = requireEnv("RESULTS_BUCKET");
const eventBusName = requireEnv("EVENT_BUS_NAME");
const capturePrefix = process.env.CAPTURE_PREFIX ?? "";
const defaultHours = Number(process.env.DRIFT_WINDOW_HOURS ?? "1") || 1;

/**
 * Scheduler input `{ time: "<aws.scheduler.scheduled-time>", windowHours }`; an EventBridge scheduled
 * event's `time` works too, and a manual run may pass any past `time` to redo that window.
 */
export interface AggregateEvent {
  time?: string;
  windowHours?: number;
}

export class InvalidAggregateInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidAggregateInputError";
  }
}

/** Some model/fleet could not be aggregated; the others were. A retry redoes only what is not done. */
export class AggregationIncompleteError extends Error {
  constructor(readonly failed: { model: string; fleet: string; reason?: string }[]) {
    super(
      `drift aggregation failed for ${failed.map((f) => `${f.model}/${f.fleet}: ${f.reason ?? "unknown"}`).join("; ")}`,
    );
    this.name = "AggregationIncompleteError";
  }
}

export const handler = middy(async (event: AggregateEvent = {}) => {
  const time = event.time === undefined ? new Date() : new Date(event.time);
  if (Number.isNaN(time.getTime()))
    throw new InvalidAggregateInputError(`time ${JSON.stringify(event.time)} is not a date`);
  const window = windowEndingAt(time, event.windowHours ?? defaultHours);
  const outcomes = await aggregateDrift(window, { resultsBucket, capturePrefix, eventBusName, metrics });
  for (const o of outcomes) {
    if (o.status === "no-baseline") logger.warn("no baseline; model skipped", { ...o });
    else if (o.status === "failed") logger.error("drift aggregation failed", { window: window.id, ...o });
    else logger.info("drift aggregated", { window: window.id, ...o });
  }
  const failed = outcomes.filter((o) => o.status === "failed");
  // Failing the invocation makes the scheduler retry; finished fleets are then recognised and skipped.
  if (failed.length > 0) throw new AggregationIncompleteError(failed);
  return { window: window.id, outcomes };
}).use(injectLambdaContext(logger));
