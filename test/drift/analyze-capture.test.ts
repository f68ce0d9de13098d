import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { sdkStreamMixin } from "@smithy/util-stream";
import type { Context, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { captureLine } from "./generate.ts";

const events = join(import.meta.dirname, "../fixtures/drift/events");
const fixture = (name: string) =>
  structuredClone(JSON.parse(readFileSync(join(events, name), "utf8"))) as SQSEvent;
const context = {
  functionName: "analyze-capture",
  awsRequestId: "req-1",
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const s3 = mockClient(S3Client);
const emf: Record<string, unknown>[] = [];
let handler: (e: SQSEvent, c: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

const body = (bytes: Buffer) => sdkStreamMixin(Readable.from([bytes]));
const notFound = Object.assign(new Error("NotFound"), {
  name: "NotFound",
  $metadata: { httpStatusCode: 404 },
});

beforeAll(async () => {
  process.env.CAPTURE_BUCKET = "edge-mlops-capture";
  process.env.CAPTURE_PREFIX = "capture/";
  process.env.RESULTS_BUCKET = "edge-mlops-results";
  process.env.POWERTOOLS_DEV = "true";
  // Dev mode routes EMF to the global console (spied below) but would disable metrics unless told not to.
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.includes('"_aws"')) emf.push(JSON.parse(line));
  });
  ({ handler } = (await import("../../functions/drift/analyze-capture.ts")) as never);
});

const key1 = "capture/fleet-a/classifier/2026/11/24/22/device 1:batch-0001.jsonl";
const key2 = "capture/fleet-a/classifier/2026/11/24/22/device-2.jsonl.gz";

beforeEach(() => {
  s3.reset();
  emf.length = 0;
  // Nothing analysed yet: the idempotency check finds no profile.
  s3.on(HeadObjectCommand).rejects(notFound);
  s3.on(GetObjectCommand, { Key: key1 }).callsFake(() => ({
    Body: body(
      Buffer.from(
        `${captureLine({ device: "device 1" })}\n{broken\n${captureLine({ device: "device 1" })}\n`,
      ),
    ),
  }));
  s3.on(GetObjectCommand, { Key: key2 }).callsFake(() => ({
    Body: body(gzipSync(`${captureLine({ device: "device-2" })}\n`)),
  }));
  s3.on(PutObjectCommand).resolves({});
});

const puts = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);

describe("analyze-capture handler", () => {
  it("profiles each object once, reports the malformed message alone as a batch item failure", async () => {
    // After the first message writes key1's profile, the duplicate (4th message) finds it.
    let written = false;
    s3.on(HeadObjectCommand, {
      Key: "profiles/capture/fleet-a/classifier/2026/11/24/22/device 1:batch-0001.jsonl.9b2cf535f27731c974343645a3985328.json",
    }).callsFake(() => {
      if (written) return {};
      written = true;
      throw notFound;
    });
    const res = await handler(fixture("sqs-s3-batch.json"), context);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: "1f0c7d7e-0003-4b6e-9a51-6f2d9c0e1a03" }] });

    // URL-decoded keys ('+' → space, %3A → ':'), version pinned by ETag.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: "edge-mlops-capture", Key: key1, IfMatch: '"9b2cf535f27731c974343645a3985328"' },
      { Bucket: "edge-mlops-capture", Key: key2, IfMatch: '"d41d8cd98f00b204e9800998ecf8427e-2"' },
    ]);
    expect(puts().map((p) => p.Key)).toEqual([
      "quarantine/capture/fleet-a/classifier/2026/11/24/22/device 1:batch-0001.jsonl.9b2cf535f27731c974343645a3985328.jsonl",
      "profiles/capture/fleet-a/classifier/2026/11/24/22/device 1:batch-0001.jsonl.9b2cf535f27731c974343645a3985328.json",
      "profiles/capture/fleet-a/classifier/2026/11/24/22/device-2.jsonl.gz.d41d8cd98f00b204e9800998ecf8427e-2.json",
    ]);
    expect(puts().every((p) => p.Bucket === "edge-mlops-results")).toBe(true);

    const quarantine = String(puts()[0]?.Body)
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(quarantine).toEqual([{ file: key1, line: 2, reason: expect.stringMatching(/^invalid JSON/) }]);
    const profile = JSON.parse(String(puts()[1]?.Body));
    expect(profile.records).toEqual({ total: 3, valid: 2, quarantined: 1 });
    expect(profile.sources).toEqual([`s3://edge-mlops-capture/${key1}#9b2cf535f27731c974343645a3985328`]);
    expect(
      profile.groups.map((g: { fleet: string; device: string; records: number }) => [
        g.fleet,
        g.device,
        g.records,
      ]),
    ).toEqual([["fleet-a", "device 1", 2]]);
    const gz = JSON.parse(String(puts()[2]?.Body));
    expect(gz.records).toEqual({ total: 1, valid: 1, quarantined: 0 });

    // One EMF document per analysed file, dimensions model + fleet only.
    expect(
      emf.map(({ _aws, ...rest }) => [
        (_aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions,
        rest,
      ]),
    ).toEqual([
      [
        [["model", "fleet"]],
        {
          model: "classifier",
          fleet: "fleet-a",
          CaptureRecords: 3,
          CaptureRecordsQuarantined: 1,
          CaptureFilesAnalyzed: 1,
        },
      ],
      [
        [["model", "fleet"]],
        {
          model: "classifier",
          fleet: "fleet-a",
          CaptureRecords: 1,
          CaptureRecordsQuarantined: 0,
          CaptureFilesAnalyzed: 1,
        },
      ],
    ]);
  });

  it("a redelivered message whose profile exists reads nothing and writes nothing", async () => {
    s3.on(HeadObjectCommand).resolves({});
    const event = fixture("sqs-s3-batch.json");
    event.Records = [event.Records[0], event.Records[3]].filter((r) => r !== undefined);
    const res = await handler(event, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 2);
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it("s3:TestEvent is acknowledged without any S3 call", async () => {
    const res = await handler(fixture("sqs-s3-test-event.json"), context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3.calls()).toHaveLength(0);
  });

  it("an S3 failure fails only that message (SQS retries it, then the DLQ)", async () => {
    s3.on(GetObjectCommand, { Key: key2 }).rejects(
      Object.assign(new Error("SlowDown"), { name: "SlowDown", $metadata: { httpStatusCode: 503 } }),
    );
    const event = fixture("sqs-s3-batch.json");
    event.Records = [event.Records[0], event.Records[1]].filter((r) => r !== undefined);
    const res = await handler(event, context);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: "1f0c7d7e-0002-4b6e-9a51-6f2d9c0e1a02" }]);
    expect(puts().map((p) => p.Key)).toHaveLength(2);
  });

  it("an object overwritten since the event (412 on IfMatch) is skipped: its own event will come", async () => {
    s3.on(GetObjectCommand, { Key: key2 }).rejects(
      Object.assign(new Error("PreconditionFailed"), {
        name: "PreconditionFailed",
        $metadata: { httpStatusCode: 412 },
      }),
    );
    const event = fixture("sqs-s3-batch.json");
    event.Records = [event.Records[1]].filter((r) => r !== undefined);
    const res = await handler(event, context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe("analyze-capture: notifications it should not act on", () => {
  const one = (key: string, bucket = "edge-mlops-capture") => {
    const event = fixture("sqs-s3-batch.json");
    const first = event.Records[0];
    if (first === undefined) throw new Error("fixture has no records");
    const body = JSON.parse(first.body);
    body.Records[0].s3.object.key = key;
    body.Records[0].s3.bucket.name = bucket;
    first.body = JSON.stringify(body);
    event.Records = [first];
    return event;
  };

  it("a key outside <prefix>/<fleet>/<model>/YYYY/MM/DD/HH/ is acknowledged and left alone", async () => {
    const res = await handler(one("capture/fleet-a/notes.txt"), context);
    expect(res.batchItemFailures).toEqual([]);
    expect(s3.calls()).toHaveLength(0);
  });

  it("a notification from another bucket is acknowledged and left alone", async () => {
    const res = await handler(
      one("capture/fleet-a/classifier/2026/11/24/22/a.jsonl", "someone-elses-bucket"),
      context,
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(s3.calls()).toHaveLength(0);
  });
});
