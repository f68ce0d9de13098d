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

export const handler = middy(async (event: AggregateEvent = {}) => {
  const time = event.time === undefined ? new Date() : new Date(event.time);
  if (Number.isNaN(time.getTime()))
    throw new InvalidAggregateInputError(`time ${JSON.stringify(event.time)} is not a date`);
  const window = windowEndingAt(time, event.windowHours ?? defaultHours);
  const outcomes = await aggregateDrift(window, { resultsBucket, capturePrefix, eventBusName, metrics });
  for (const o of outcomes) {
    if (o.status === "no-baseline") logger.warn("no baseline; model skipped", { ...o });
    else logger.info("drift aggregated", { window: window.id, ...o });
  }
  return { window: window.id, outcomes };
}).use(injectLambdaContext(logger));
