import { Duration } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Bucket, EventType } from "aws-cdk-lib/aws-s3";
import { SqsDestination } from "aws-cdk-lib/aws-s3-notifications";
import { NagSuppressions } from "cdk-nag";
import type { StackContext } from "sst/constructs";
import { use } from "sst/constructs";
import { driftScheduleInput } from "../events/patterns.ts";
import { useConfig } from "./context.ts";
import { projectFunction } from "./lib/functions.ts";
import { allow, suppressSstInternals } from "./lib/nag.ts";
import { deadLetterQueue, secureQueue } from "./lib/queues.ts";
import { scheduledInvoke } from "./lib/schedule.ts";
import { Storage } from "./Storage.ts";

export const analyzeCaptureEntry = "functions/drift/analyze-capture.ts";
export const aggregateDriftEntry = "functions/drift/aggregate-drift.ts";

/** Where drift outputs live in the results bucket. */
export const resultPrefixes = {
  profiles: "profiles/",
  quarantine: "quarantine/",
  results: "results/",
  baselines: "baselines/",
} as const;

const ANALYZE_TIMEOUT = Duration.minutes(5);

export function Monitoring({ stack }: StackContext) {
  const config = useConfig();
  const storage = use(Storage);
  const { resultsBucket, bus } = storage;
  // Imported by name so the notification lives in this stack and the dependency runs one way
  // (Monitoring → Storage); wiring the Storage bucket to a queue here would make a cycle.
  const captureBucket = Bucket.fromBucketAttributes(stack, "CaptureBucketRef", {
    bucketArn: storage.captureBucket.bucketArn,
    bucketName: storage.captureBucket.bucketName,
  });
  const capturePrefix = `${config.capturePrefix.replace(/\/+$/, "")}/`;

  const environment = {
    EDGE_MLOPS_CONFIG: JSON.stringify(config),
    CAPTURE_BUCKET: captureBucket.bucketName,
    CAPTURE_PREFIX: capturePrefix,
    RESULTS_BUCKET: resultsBucket.bucketName,
    EVENT_BUS_NAME: bus.eventBusName,
  };

  const captureDlq = deadLetterQueue(stack, "CaptureDlq", "capture analysis");
  const captureQueue = secureQueue(stack, "CaptureQueue", {
    // Lambda's guidance for SQS sources: at least six times the function timeout, so a message
    // is not redelivered while a slow batch is still being processed.
    visibilityTimeout: Duration.seconds(ANALYZE_TIMEOUT.toSeconds() * 6),
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: captureDlq.queue, maxReceiveCount: 5 },
  });
  captureBucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(captureQueue), {
    prefix: capturePrefix,
  });

  const analyze = projectFunction(stack, "AnalyzeCapture", {
    entry: analyzeCaptureEntry,
    description: "Profiles each new capture file; quarantines records it cannot read",
    environment,
    timeout: ANALYZE_TIMEOUT,
    memorySize: 1024,
    grants: [
      // Without ListBucket S3 answers 403, not 404, for a profile not written yet, and a redelivered
      // file would be read and profiled again; scoped to the profiles prefix.
      allow(["s3:ListBucket"], [resultsBucket.bucketArn], {
        conditions: { StringLike: { "s3:prefix": [`${resultPrefixes.profiles}*`] } },
      }),
      allow(["s3:GetObject"], [captureBucket.arnForObjects(`${capturePrefix}*`)], {
        wildcardReason: "Any capture file under the configured prefix (fleet/model/date/hour keys).",
      }),
      // GetObject too: the profile already written for key+ETag is how a redelivery is recognised.
      allow(
        ["s3:GetObject", "s3:PutObject"],
        [
          resultsBucket.arnForObjects(`${resultPrefixes.profiles}*`),
          resultsBucket.arnForObjects(`${resultPrefixes.quarantine}*`),
        ],
        {
          wildcardReason:
            "One profile and one quarantine object per capture file, keyed like the capture file.",
        },
      ),
    ],
  });
  analyze.fn.addEventSource(
    new SqsEventSource(captureQueue, {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(10),
      reportBatchItemFailures: true,
    }),
  );

  const aggregate = projectFunction(stack, "AggregateDrift", {
    entry: aggregateDriftEntry,
    description: "Merges the window's profiles per model, fleet and device; writes violations, report, event",
    environment: { ...environment, DRIFT_WINDOW_HOURS: String(config.driftWindowHours) },
    timeout: Duration.minutes(10),
    memorySize: 2048,
    grants: [
      allow(["s3:ListBucket"], [resultsBucket.bucketArn], {
        conditions: {
          StringLike: { "s3:prefix": [`${resultPrefixes.profiles}*`, `${resultPrefixes.baselines}*`] },
        },
      }),
      allow(
        ["s3:GetObject"],
        [
          resultsBucket.arnForObjects(`${resultPrefixes.profiles}*`),
          resultsBucket.arnForObjects(`${resultPrefixes.baselines}*`),
        ],
        { wildcardReason: "Reads the window's per-file profiles and each model's baseline files." },
      ),
      // GetObject on results too: the drift.json already written for a window is how a retried
      // schedule is recognised, so it neither rewrites results nor sends ModelDriftDetected twice.
      allow(["s3:GetObject", "s3:PutObject"], [resultsBucket.arnForObjects(`${resultPrefixes.results}*`)], {
        wildcardReason:
          "Reads and writes violations, drift results and reports per model, fleet, device and window.",
      }),
      allow(["events:PutEvents"], [bus.eventBusArn]),
    ],
  });

  const drift = scheduledInvoke(stack, "DriftSchedule", {
    fn: aggregate.fn,
    expression: config.driftSchedule,
    input: driftScheduleInput(config.driftWindowHours),
    description: "Drift aggregation over the configured window",
    maximumRetryAttempts: 2,
  });

  suppressSstInternals(stack);
  suppressNotificationHandler(stack);

  stack.addOutputs({
    CaptureQueueUrl: captureQueue.queueUrl,
    CaptureDlqUrl: captureDlq.queue.queueUrl,
    AnalyzeCaptureFunction: analyze.fn.functionName,
    AggregateDriftFunction: aggregate.fn.functionName,
  });

  return { captureQueue, captureDlq, analyze, aggregate, drift };
}

/** CDK's singleton Lambda that applies bucket notifications (PutBucketNotificationConfiguration). */
function suppressNotificationHandler(stack: StackContext["stack"]): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith("BucketNotificationsHandler"));
  if (!handler) return;
  NagSuppressions.addResourceSuppressions(
    handler,
    [
      {
        id: "AwsSolutions-IAM4",
        reason:
          "CDK's bucket-notification custom resource uses the basic execution policy; it runs only during deployment.",
        appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "CDK's bucket-notification custom resource needs s3:PutBucketNotification, which it grants on *.",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
}
