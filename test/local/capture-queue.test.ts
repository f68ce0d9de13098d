import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { ScaledClock } from "../../local/server/clock.ts";
import { LocalQueue } from "../../local/sqs/queue.ts";

const base = { name: "capture", region: "us-east-1", accountId: "000000000000" };

describe("capture queue (SQS-like, at-least-once)", () => {
  it("delivers in batches with the SQS record shape and deletes what succeeded", async () => {
    const batches: SQSEvent[] = [];
    const queue = new LocalQueue({
      ...base,
      clock: new ScaledClock(0),
      batchSize: 2,
      consumer: async (e) => void batches.push(e),
    });
    for (const n of [1, 2, 3]) queue.send(JSON.stringify({ n }));
    await queue.idle();
    expect(batches.map((b) => b.Records.length)).toEqual([2, 1]);
    const r = batches[0]?.Records[0];
    expect(r).toMatchObject({
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:capture",
      awsRegion: "us-east-1",
      body: '{"n":1}',
    });
    expect(r?.attributes.ApproximateReceiveCount).toBe("1");
    expect(r?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(queue.depth()).toBe(0);
    expect(queue.stats).toMatchObject({ sent: 3, delivered: 3, deleted: 3, deadLettered: 0 });
  });

  it("redelivers only the batch item failures after the visibility timeout, then dead-letters at maxReceiveCount", async () => {
    const clock = new ScaledClock(0, new Date("2026-11-24T00:00:00Z"));
    const seen: Array<{ body: string; count: string; at: number }> = [];
    const dlq = new LocalQueue({ ...base, name: "capture-dlq", clock });
    const queue = new LocalQueue({
      ...base,
      clock,
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 3,
      deadLetterQueue: dlq,
      consumer: async (e): Promise<SQSBatchResponse> => {
        for (const r of e.Records)
          seen.push({ body: r.body, count: r.attributes.ApproximateReceiveCount, at: clock.now().getTime() });
        return {
          batchItemFailures: e.Records.filter((r) => r.body === "poison").map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    queue.send("good");
    queue.send("poison");
    await queue.idle();
    expect(seen.filter((s) => s.body === "good").map((s) => s.count)).toEqual(["1"]);
    const poison = seen.filter((s) => s.body === "poison");
    expect(poison.map((s) => s.count)).toEqual(["1", "2", "3"]);
    // Each redelivery waits out the visibility timeout on the clock.
    expect((poison[1]?.at ?? 0) - (poison[0]?.at ?? 0)).toBeGreaterThanOrEqual(30_000);
    expect(queue.deadLetters.map((m) => m.body)).toEqual(["poison"]);
    // The DLQ is a queue of its own: receive and delete as SQS clients do.
    const [dead] = dlq.receive(10);
    expect(dead).toMatchObject({ body: "poison", receiveCount: 1 });
    expect(dlq.deleteMessage(dead?.receiptHandle ?? "")).toBe(true);
    expect(dlq.depth()).toBe(0);
    expect(queue.stats).toMatchObject({ deleted: 1, deadLettered: 1 });
  });

  it("a thrown error returns the whole batch; the next receive succeeds", async () => {
    let calls = 0;
    const queue = new LocalQueue({
      ...base,
      clock: new ScaledClock(0),
      consumer: async () => {
        calls++;
        if (calls === 1) throw new Error("cold start failed");
      },
    });
    queue.send("a");
    queue.send("b");
    await queue.idle();
    expect(calls).toBe(2);
    expect(queue.stats).toMatchObject({ batches: 2, failedBatches: 1, deleted: 2, delivered: 4 });
  });

  it("with a duplicate rate, processed messages come back once more with the same MessageId", async () => {
    const ids: string[] = [];
    const queue = new LocalQueue({
      ...base,
      clock: new ScaledClock(0),
      duplicateRate: 1,
      consumer: async (e) => void ids.push(...e.Records.map((r) => r.messageId)),
    });
    const sent = [queue.send("x"), queue.send("y")];
    await queue.idle();
    expect(ids.sort()).toEqual([...sent, ...sent].sort());
    expect(queue.stats).toMatchObject({ duplicated: 2, delivered: 4 });
  });
});
