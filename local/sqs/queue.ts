/**
 * An SQS-like queue with a Lambda event source mapping, in process: at-least-once delivery in
 * batches, a visibility timeout on the clock, partial batch failures (`batchItemFailures`) that
 * return only the failed messages, a dead-letter list after `maxReceiveCount` receives, and an
 * optional duplicate rate that delivers some messages a second time, as SQS standard queues may.
 */
import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Clock } from "../server/types.ts";

export interface QueueOptions {
  name: string;
  clock: Clock;
  region: string;
  accountId: string;
  /** The function the event source mapping invokes with up to `batchSize` records. */
  consumer: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null | unknown>;
  batchSize?: number;
  visibilityTimeoutSeconds?: number;
  /** Receives after which a message moves to the dead-letter list (the redrive policy). */
  maxReceiveCount?: number;
  /** Probability 0–1 that a processed message is delivered once more. */
  duplicateRate?: number;
  random?: () => number;
}

export interface QueueMessage {
  messageId: string;
  body: string;
  sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  visibleAt: number;
  /** This copy is an on-purpose duplicate (never duplicated again). */
  duplicate: boolean;
}

export interface QueueStats {
  sent: number;
  /** Messages handed to the consumer, counting every redelivery and duplicate. */
  delivered: number;
  deleted: number;
  duplicated: number;
  deadLettered: number;
  batches: number;
  failedBatches: number;
}

export class LocalQueue {
  private readonly messages: QueueMessage[] = [];
  readonly deadLetters: QueueMessage[] = [];
  readonly stats: QueueStats = {
    sent: 0,
    delivered: 0,
    deleted: 0,
    duplicated: 0,
    deadLettered: 0,
    batches: 0,
    failedBatches: 0,
  };
  private pumping: Promise<void> | undefined;
  private closed = false;
  private duplicateRate: number;
  readonly arn: string;

  constructor(private readonly opts: QueueOptions) {
    this.arn = `arn:aws:sqs:${opts.region}:${opts.accountId}:${opts.name}`;
    this.duplicateRate = opts.duplicateRate ?? 0;
  }

  setDuplicateRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`duplicateRate must be in [0, 1], got ${rate}`);
    this.duplicateRate = rate;
  }

  /** SendMessage: returns the MessageId; delivery starts on its own. */
  send(body: string): string {
    const messageId = randomUUID();
    this.messages.push({
      messageId,
      body,
      sentTimestamp: this.opts.clock.now().getTime(),
      receiveCount: 0,
      visibleAt: 0,
      duplicate: false,
    });
    this.stats.sent++;
    this.pump();
    return messageId;
  }

  /** Messages not yet deleted (visible or in flight). */
  depth(): number {
    return this.messages.length;
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    // Messages sent in the same turn of the event loop share a batch, like a short batching window.
    this.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.pumping = undefined;
      });
  }

  /** Receives and delivers batches until the queue is empty; waits on the clock for invisible messages. */
  private async drain(): Promise<void> {
    while (!this.closed && this.messages.length > 0) {
      const now = this.opts.clock.now().getTime();
      const visible = this.messages.filter((m) => m.visibleAt <= now);
      if (visible.length === 0) {
        const next = Math.min(...this.messages.map((m) => m.visibleAt));
        await this.opts.clock.sleep((next - now) / 1000);
        continue;
      }
      const batch: QueueMessage[] = [];
      for (const m of visible) {
        if (batch.length >= (this.opts.batchSize ?? 10)) break;
        // The redrive policy acts at receive time: one receive too many and the message goes to the DLQ.
        if (m.receiveCount >= (this.opts.maxReceiveCount ?? 5)) {
          this.remove(m);
          this.deadLetters.push(m);
          this.stats.deadLettered++;
          continue;
        }
        m.receiveCount++;
        m.firstReceiveTimestamp ??= now;
        m.visibleAt = now + (this.opts.visibilityTimeoutSeconds ?? 30) * 1000;
        batch.push(m);
      }
      if (batch.length > 0) await this.deliver(batch);
    }
  }

  private async deliver(batch: QueueMessage[]): Promise<void> {
    this.stats.batches++;
    this.stats.delivered += batch.length;
    let failed: Set<string>;
    try {
      const response = (await this.opts.consumer({ Records: batch.map((m) => this.record(m)) })) as
        | SQSBatchResponse
        | undefined;
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      // A thrown error fails the whole batch: every message comes back after its visibility timeout.
      this.stats.failedBatches++;
      return;
    }
    for (const m of batch) {
      if (failed.has(m.messageId)) continue;
      this.remove(m);
      this.stats.deleted++;
      if (
        !m.duplicate &&
        this.duplicateRate > 0 &&
        (this.opts.random ?? Math.random)() < this.duplicateRate
      ) {
        this.messages.push({ ...m, receiveCount: 0, visibleAt: 0, duplicate: true });
        this.stats.duplicated++;
      }
    }
  }

  private remove(m: QueueMessage): void {
    const i = this.messages.indexOf(m);
    if (i >= 0) this.messages.splice(i, 1);
  }

  private record(m: QueueMessage): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: Buffer.from(`${m.messageId}:${randomUUID()}`).toString("base64"),
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentTimestamp),
        SenderId: "AIDAIENQZJOLO23YVJ4VO",
        ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
      },
      messageAttributes: {},
      md5OfBody: createHash("md5").update(m.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: this.arn,
      awsRegion: this.opts.region,
    };
  }

  /** Resolves when every message is deleted or dead-lettered (tests). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  close(): void {
    this.closed = true;
  }
}
