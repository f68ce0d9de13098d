import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { requireEnv } from "../shared/env.ts";
import { logger } from "../shared/handler.ts";
import { analyzeCaptureObject } from "./capture-object.ts";
import { emit, metrics } from "./metrics.ts";
import { parseS3Notification } from "./s3-notification.ts";

/** Env: CAPTURE_BUCKET, CAPTURE_PREFIX, RESULTS_BUCKET (read at cold start). */
const captureBucket = requireEnv("CAPTURE_BUCKET");
const capturePrefix = process.env.CAPTURE_PREFIX ?? "";
const resultsBucket = requireEnv("RESULTS_BUCKET");

const processor = new BatchProcessor(EventType.SQS);

/** One SQS message: one S3 notification, possibly several objects. Throwing fails only this message. */
async function processMessage(record: SQSRecord): Promise<void> {
  const notification = parseS3Notification(record.body);
  if (notification.kind === "test") {
    logger.info("s3:TestEvent ignored", { messageId: record.messageId });
    return;
  }
  for (const obj of notification.objects) {
    if (obj.bucket !== captureBucket) {
      logger.warn("notification for another bucket ignored", { bucket: obj.bucket, key: obj.key });
      continue;
    }
    const outcome = await analyzeCaptureObject(obj, { resultsBucket, capturePrefix });
    logger.info("capture object", { key: obj.key, etag: obj.etag, ...outcome });
    if (outcome.status === "analyzed") {
      emit(metrics, { model: outcome.model, fleet: outcome.fleet }, [
        ["CaptureRecords", MetricUnit.Count, outcome.counts.total],
        ["CaptureRecordsQuarantined", MetricUnit.Count, outcome.counts.quarantined],
        ["CaptureFilesAnalyzed", MetricUnit.Count, 1],
      ]);
    }
  }
}

/** SQS batch of S3 ObjectCreated notifications → per-file profiles; failed messages are retried alone. */
export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, processMessage, processor, { context, processInParallel: false }),
).use(injectLambdaContext(logger));
