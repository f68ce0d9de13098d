/**
 * An SQS-like queue, in process: at-least-once delivery, a visibility timeout on the clock,
 * receipt handles, a redrive policy that moves a message to a dead-letter queue once it has been
 * received `maxReceiveCount` times, and an optional duplicate rate that delivers some messages a
 * second time, as SQS standard queues may. With a `consumer` it also plays the Lambda event source
 * mapping: batches, partial batch failures (`batchItemFailures`) that return only the failed
 * messages, a thrown error that returns the whole batch.
 */
import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Clock } from "../server/types.ts";

export interface QueueOptions {
  name: string;
  clock: Clock;
  region: string;
  accountId: string;
  /** The function an event source mapping invokes with up to `batchSize` records; none for a plain queue (a DLQ). */
  consumer?: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null | unknown>;
  batchSize?: number;
  visibilityTimeoutSeconds?: number;
  /** Where the redrive policy moves messages received `maxReceiveCount` times. */
  deadLetterQueue?: LocalQueue;
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
  /** Handle of the latest receive; only it deletes the message. */
  receiptHandle?: string;
  /** This copy is an on-purpose duplicate (never duplicated again). */
  duplicate: boolean;
}

export interface QueueStats {
  sent: number;
  /** Messages handed out (to the consumer or ReceiveMessage), counting every redelivery and duplicate. */
  delivered: number;
  deleted: number;
  duplicated: number;
  deadLettered: number;
  batches: number;
  failedBatches: number;
}

export class LocalQueue {
  private readonly messages: QueueMessage[] = [];
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
  readonly createdAt: Date;

  constructor(readonly opts: QueueOptions) {
    this.arn = `arn:aws:sqs:${opts.region}:${opts.accountId}:${opts.name}`;
    this.duplicateRate = opts.duplicateRate ?? 0;
    this.createdAt = opts.clock.now();
  }

  get name(): string {
    return this.opts.name;
  }

  get visibilityTimeoutSeconds(): number {
    return this.opts.visibilityTimeoutSeconds ?? 30;
  }

  setDuplicateRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`duplicateRate must be in [0, 1], got ${rate}`);
    this.duplicateRate = rate;
  }

  /** SendMessage: returns the MessageId; a queue with a consumer starts delivering on its own. */
  send(body: string, messageId: string = randomUUID()): string {
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

  /** ApproximateNumberOfMessages / ApproximateNumberOfMessagesNotVisible. */
  counts(): { visible: number; inFlight: number } {
    const now = this.opts.clock.now().getTime();
    const visible = this.messages.filter((m) => m.visibleAt <= now).length;
    return { visible, inFlight: this.messages.length - visible };
  }

  /** Messages the redrive policy moved to the dead-letter queue (still in it). */
  get deadLetters(): QueueMessage[] {
    return this.opts.deadLetterQueue ? [...this.opts.deadLetterQueue.messages] : [];
  }

  /**
   * ReceiveMessage: up to `max` visible messages, hidden for the visibility timeout; a message
   * received `maxReceiveCount` times before goes to the dead-letter queue instead.
   */
  receive(max: number, visibilityTimeoutSeconds = this.visibilityTimeoutSeconds): QueueMessage[] {
    const now = this.opts.clock.now().getTime();
    const out: QueueMessage[] = [];
    for (const m of this.messages.filter((x) => x.visibleAt <= now)) {
      if (out.length >= max) break;
      const dlq = this.opts.deadLetterQueue;
      // The redrive policy acts at receive time: one receive too many and the message moves.
      if (dlq && m.receiveCount >= (this.opts.maxReceiveCount ?? 5)) {
        this.remove(m);
        dlq.send(m.body, m.messageId);
        this.stats.deadLettered++;
        continue;
      }
      m.receiveCount++;
      m.firstReceiveTimestamp ??= now;
      m.visibleAt = now + visibilityTimeoutSeconds * 1000;
      m.receiptHandle = Buffer.from(`${this.opts.name}:${m.messageId}:${randomUUID()}`).toString("base64");
      out.push(m);
    }
    this.stats.delivered += out.length;
    return out;
  }

  /** DeleteMessage: true when the handle was the message's latest receipt. */
  deleteMessage(receiptHandle: string): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m) return false;
    this.remove(m);
    this.stats.deleted++;
    return true;
  }

  /** ChangeMessageVisibility with 0 and the like: makes an in-flight message visible after `seconds`. */
  changeVisibility(receiptHandle: string, seconds: number): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m) return false;
    m.visibleAt = this.opts.clock.now().getTime() + seconds * 1000;
    this.pump();
    return true;
  }

  purge(): void {
    this.messages.length = 0;
  }

  private pump(): void {
    if (!this.opts.consumer || this.pumping || this.closed) return;
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
      const batch = this.receive(this.opts.batchSize ?? 10);
      if (batch.length > 0) {
        await this.deliver(batch);
        continue;
      }
      if (this.messages.length === 0) return;
      const now = this.opts.clock.now().getTime();
      const next = Math.min(...this.messages.map((m) => m.visibleAt));
      await this.opts.clock.sleep(Math.max(0, next - now) / 1000);
    }
  }

  private async deliver(batch: QueueMessage[]): Promise<void> {
    this.stats.batches++;
    let failed: Set<string>;
    try {
      const response = (await this.opts.consumer?.({ Records: batch.map((m) => this.record(m)) })) as
        | SQSBatchResponse
        | undefined;
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      // A thrown error fails the whole batch: every message comes back after its visibility timeout.
      this.stats.failedBatches++;
      return;
    }
    for (const m of batch) {
      if (failed.has(m.messageId) || !m.receiptHandle || !this.deleteMessage(m.receiptHandle)) continue;
      if (
        !m.duplicate &&
        this.duplicateRate > 0 &&
        (this.opts.random ?? Math.random)() < this.duplicateRate
      ) {
        const { receiptHandle: _handled, ...copy } = m;
        this.messages.push({ ...copy, receiveCount: 0, visibleAt: 0, duplicate: true });
        this.stats.duplicated++;
      }
    }
  }

  private remove(m: QueueMessage): void {
    const i = this.messages.indexOf(m);
    if (i >= 0) this.messages.splice(i, 1);
  }

  /** The record shape Lambda's SQS event source delivers. */
  record(m: QueueMessage): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle ?? "",
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

  /** Resolves when the consumer has nothing left to do (tests). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  close(): void {
    this.closed = true;
  }
}
