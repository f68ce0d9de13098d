import { readFileSync } from "node:fs";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3ObjectCreatedRecord } from "../../local/server/types.ts";
import { captureQueueOf } from "../../local/sqs/index.ts";
import { configureFlow, localResources } from "../../local/wiring.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";

const sample = readFileSync(new URL("../../examples/capture/sample.jsonl", import.meta.url));
const keys = [1, 2, 3].map((n) => `capture/fleet-a/example-classifier/2026/11/24/10/part-000${n}.jsonl`);

let ep: TestEndpoint;
const profilesWritten: S3ObjectCreatedRecord[] = [];

beforeAll(async () => {
  configureFlow({
    autoSchedules: false,
    capture: { duplicateRate: 1, visibilityTimeoutSeconds: 60, maxReceiveCount: 3, batchSize: 10 },
  });
  ep = await startTestEndpoint({ discover: true });
  // Every profile the handler writes shows up here; a redelivery must not write another.
  ep.s3.onObjectCreated(localResources.resultsBucket, "profiles/", (r) => void profilesWritten.push(r));
});

afterAll(() => ep?.dispose());

describe("capture delivery: S3 ObjectCreated → queue → analyze-capture", () => {
  it("analyzes each capture object once even when every message is delivered twice", async () => {
    for (const Key of keys)
      await ep.clients.s3.send(
        new PutObjectCommand({ Bucket: localResources.captureBucket, Key, Body: sample }),
      );
    // Outside the capture prefix: no notification, no delivery.
    await ep.clients.s3.send(
      new PutObjectCommand({ Bucket: localResources.captureBucket, Key: "other/x.jsonl", Body: sample }),
    );
    const queue = captureQueueOf(ep.url);
    await until(
      async () => ({ ...queue.stats, depth: queue.depth() }),
      (s) => s.sent === keys.length && s.depth === 0,
    );
    await queue.idle();
    expect(queue.stats).toMatchObject({ sent: 3, duplicated: 3, delivered: 6, deleted: 6, deadLettered: 0 });
    expect(queue.deadLetters).toEqual([]);

    const profiles = await ep.clients.s3.send(
      new ListObjectsV2Command({ Bucket: localResources.resultsBucket, Prefix: "profiles/" }),
    );
    const profileKeys = (profiles.Contents ?? []).map((o) => o.Key as string).sort();
    expect(profileKeys).toHaveLength(keys.length);
    for (const [i, k] of keys.entries()) {
      expect(profileKeys[i]).toMatch(new RegExp(`^profiles/${k.replaceAll(".", "\\.")}\\.[0-9a-f]+\\.json$`));
    }
    expect(profilesWritten.map((r) => decodeURIComponent(r.s3.object.key)).sort()).toEqual(profileKeys);
    const first = await ep.clients.s3.send(
      new GetObjectCommand({ Bucket: localResources.resultsBucket, Key: profileKeys[0] }),
    );
    const profile = JSON.parse((await first.Body?.transformToString()) ?? "{}") as Record<string, unknown>;
    expect(JSON.stringify(profile)).toContain("example-classifier");
  });

  it("a message analyze-capture keeps failing goes to the DLQ after maxReceiveCount, readable over the SQS protocol", async () => {
    const sqs = new SQSClient({ endpoint: ep.url, region, credentials });
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: localResources.captureQueueName }),
    );
    const { QueueUrl: dlqUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `${localResources.captureQueueName}-dlq` }),
    );
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    expect(JSON.parse(attributes.Attributes?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:${region}:000000000000:${localResources.captureQueueName}-dlq`,
      maxReceiveCount: 3,
    });

    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: "this is not an S3 notification" }),
    );
    const queue = captureQueueOf(ep.url);
    await until(
      async () => queue.stats.deadLettered,
      (n) => n === 1,
    );
    const dlqAttributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    expect(dlqAttributes.Attributes).toEqual({ ApproximateNumberOfMessages: "1" });
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
    expect(received.Messages).toMatchObject([
      { MessageId: sent.MessageId, Body: "this is not an S3 notification" },
    ]);
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: received.Messages?.[0]?.ReceiptHandle }),
    );
    await expect(
      sqs.send(
        new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: received.Messages?.[0]?.ReceiptHandle }),
      ),
    ).rejects.toMatchObject({ name: "ReceiptHandleIsInvalid" });
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: "nope" }))).rejects.toMatchObject({
      name: "QueueDoesNotExist",
    });
  });
});
