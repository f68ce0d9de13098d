import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { EventBus } from "aws-cdk-lib/aws-events";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  ObjectOwnership,
  StorageClass,
} from "aws-cdk-lib/aws-s3";
import { NagSuppressions } from "cdk-nag";
import type { StackContext } from "sst/constructs";
import { suppressSstInternals } from "./lib/nag.ts";

/** Fixed by the project, not by configuration: the buckets and the bus every other stack uses. */
export function Storage({ stack, app }: StackContext) {
  const accessLogs = new Bucket(stack, "AccessLogs", {
    ...baseBucket(),
    // S3 server access logging writes as the logging service principal, which needs bucket-owner ownership.
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [
      {
        id: "expire-access-logs",
        expiration: Duration.days(365),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
  });
  NagSuppressions.addResourceSuppressions(accessLogs, [
    {
      id: "AwsSolutions-S1",
      reason:
        "This bucket is the destination of the other buckets' server access logs; logging it into itself would loop.",
    },
  ]);

  const logged = (prefix: string): Partial<BucketProps> => ({
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: `${prefix}/`,
  });

  // Compiled models, packaged component artifacts and Neo output. Versioned: a component version's
  // recipe pins the artifact digest, so an overwritten object must stay recoverable.
  const artifactBucket = new Bucket(stack, "Artifacts", {
    ...baseBucket(),
    ...logged("artifacts"),
    versioned: true,
    lifecycleRules: [
      {
        id: "expire-old-versions",
        noncurrentVersionExpiration: Duration.days(90),
        noncurrentVersionsToRetain: 3,
      },
      { id: "abort-uploads", abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
  });

  // Device capture data: read once by analyze-capture, then rarely; cheaper storage after 30 days.
  const captureBucket = new Bucket(stack, "Capture", {
    ...baseBucket(),
    ...logged("capture"),
    lifecycleRules: [
      {
        id: "age-capture-data",
        transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
        expiration: Duration.days(365),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
  });

  // Drift outputs: per-file profiles, quarantined records, violations, reports, baselines.
  const resultsBucket = new Bucket(stack, "Results", {
    ...baseBucket(),
    ...logged("results"),
    versioned: true,
    lifecycleRules: [
      { id: "expire-profiles", prefix: "profiles/", expiration: Duration.days(90) },
      { id: "expire-quarantine", prefix: "quarantine/", expiration: Duration.days(90) },
      { id: "expire-old-versions", noncurrentVersionExpiration: Duration.days(30) },
      { id: "abort-uploads", abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
  });

  const bus = new EventBus(stack, "Bus", { eventBusName: app.logicalPrefixedName("events") });

  suppressSstInternals(stack);

  stack.addOutputs({
    ArtifactBucket: artifactBucket.bucketName,
    CaptureBucket: captureBucket.bucketName,
    ResultsBucket: resultsBucket.bucketName,
    EventBusName: bus.eventBusName,
  });

  return { accessLogs, artifactBucket, captureBucket, resultsBucket, bus };
}

function baseBucket(): BucketProps {
  // SSE-S3 rather than a customer key: devices (token exchange role), SageMaker jobs and Greengrass
  // read these objects, and a KMS key would need grants to roles this app does not own.
  return {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    // Data outlives a `sst remove`; README says how to empty and delete the buckets.
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

export type StorageOutputs = ReturnType<typeof Storage>;
