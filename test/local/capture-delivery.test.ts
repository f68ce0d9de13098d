import { readFileSync } from "node:fs";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3ObjectCreatedRecord } from "../../local/server/types.ts";
import { captureQueueOf } from "../../local/sqs/index.ts";
import { configureFlow, localResources } from "../../local/wiring.ts";
import { startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";

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
});
