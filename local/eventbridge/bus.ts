/**
 * The local event bus: PutEvents validation and results as EventBridge gives them, rules matched
 * with EventBridge semantics, and delivery to targets with retries on the clock and a dead-letter
 * list, so one failing target never blocks the others or the caller.
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BusEvent, Clock } from "../server/types.ts";
import { matchesPattern } from "./matcher.ts";

/** The event as targets receive it. */
export interface EventEnvelope {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface RuleTarget {
  id: string;
  /** The target's ARN (a Lambda function), for ListTargetsByRule. */
  arn?: string;
  invoke(event: EventEnvelope): Promise<unknown>;
}

export interface Rule {
  name: string;
  /** Bus the rule listens on ("default" for AWS service events). */
  eventBusName: string;
  eventPattern: object;
  targets: RuleTarget[];
}

export interface PutEventsRequestEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: Date | number | string;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export interface Delivery {
  eventId: string;
  rule: string;
  target: string;
  attempts: number;
  status: "SUCCEEDED" | "FAILED";
  error?: string;
}

export interface EventBusOptions {
  clock: Clock;
  region: string;
  accountId: string;
  /** Events and dead letters are appended here as JSON Lines for inspection. */
  stateDir: string;
  /** Attempts per target before the event goes to the dead-letter list (EventBridge retries for 24 h; locally a few). */
  maxAttempts?: number;
}

const MAX_ENTRY_BYTES = 256 * 1024;
const busName = (nameOrArn: string | undefined) =>
  nameOrArn ? (nameOrArn.split(":event-bus/")[1] ?? nameOrArn) : "default";

export class EventBus {
  private readonly rules: Rule[] = [];
  private readonly pending = new Set<Promise<void>>();
  /** Every event accepted, oldest first. */
  readonly events: Array<EventEnvelope & { eventBusName: string }> = [];
  readonly deliveries: Delivery[] = [];
  readonly deadLetters: Array<{ event: EventEnvelope; rule: string; target: string; error: string }> = [];

  readonly region: string;
  readonly accountId: string;

  constructor(private readonly opts: EventBusOptions) {
    mkdirSync(opts.stateDir, { recursive: true });
    this.region = opts.region;
    this.accountId = opts.accountId;
  }

  addRule(rule: Rule): void {
    // A pattern EventBridge would refuse fails here, at registration, not at the first event.
    matchesPattern(rule.eventPattern, {});
    this.rules.push(rule);
  }

  listRules(eventBusName = "default"): Rule[] {
    return this.rules.filter((r) => r.eventBusName === eventBusName);
  }

  /**
   * PutEvents: each entry is checked on its own; bad ones get ErrorCode/ErrorMessage and the rest go through.
   * @example bus.putEvents([{ Source: "edge-mlops", DetailType: "EdgeDeploymentSucceeded", Detail: "{}" }])
   */
  putEvents(
    entries: PutEventsRequestEntry[],
    options: { trusted?: boolean } = {},
  ): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    const results = entries.map((entry): PutEventsResultEntry => {
      const problem = this.validate(entry, options.trusted ?? false);
      if (problem) return problem;
      const envelope: EventEnvelope = {
        version: "0",
        id: randomUUID(),
        "detail-type": entry.DetailType as string,
        source: entry.Source as string,
        account: this.opts.accountId,
        time: toIsoSeconds(
          entry.Time === undefined
            ? this.opts.clock.now()
            : new Date(typeof entry.Time === "number" ? entry.Time * 1000 : entry.Time),
        ),
        region: this.opts.region,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail as string) as Record<string, unknown>,
      };
      this.accept(envelope, busName(entry.EventBusName));
      return { EventId: envelope.id };
    });
    return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
  }

  /** What AWS services do when their state changes (the endpoint's `ctx.emit`). */
  emit(event: BusEvent): void {
    const result = this.putEvents([{ ...event, ...(event.Time ? { Time: event.Time } : {}) }], {
      trusted: true,
    }).Entries[0];
    if (result && "ErrorCode" in result)
      throw new Error(`event from ${event.Source} refused: ${result.ErrorMessage}`);
  }

  private validate(entry: PutEventsRequestEntry, trusted: boolean): PutEventsResultEntry | undefined {
    const bad = (code: string, message: string) => ({ ErrorCode: code, ErrorMessage: message });
    if (!entry.Source)
      return bad("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
    if (!entry.DetailType)
      return bad(
        "InvalidArgument",
        "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
      );
    if (entry.Detail === undefined)
      return bad("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
    if (!trusted && entry.Source.startsWith("aws.")) {
      return bad(
        "NotAuthorizedForSourceException",
        `Not authorized for the source ${entry.Source}; aws.* sources are reserved for AWS services.`,
      );
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return bad("MalformedDetail", "Detail is malformed.");
    }
    if (detail === null || typeof detail !== "object" || Array.isArray(detail))
      return bad("MalformedDetail", "Detail is malformed: it must be a JSON object.");
    const size =
      Buffer.byteLength(entry.Source) +
      Buffer.byteLength(entry.DetailType) +
      Buffer.byteLength(entry.Detail) +
      (entry.Resources ?? []).join("").length;
    if (size > MAX_ENTRY_BYTES)
      return bad("InvalidArgument", `Entry is ${size} bytes; the limit is ${MAX_ENTRY_BYTES}.`);
    if (
      entry.Time !== undefined &&
      Number.isNaN(new Date(typeof entry.Time === "number" ? entry.Time * 1000 : entry.Time).getTime())
    ) {
      return bad("InvalidArgument", "Parameter Time is not valid.");
    }
    return undefined;
  }

  private accept(event: EventEnvelope, eventBusName: string): void {
    this.events.push({ ...event, eventBusName });
    appendFileSync(
      join(this.opts.stateDir, "events.jsonl"),
      `${JSON.stringify({ eventBusName, ...event })}\n`,
    );
    for (const rule of this.rules) {
      if (rule.eventBusName !== eventBusName || !matchesPattern(rule.eventPattern, event)) continue;
      for (const target of rule.targets) this.track(this.deliver(event, rule, target));
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Delivers with exponential backoff on the clock (1 s, 2 s, 4 s …), then dead-letters. */
  private async deliver(event: EventEnvelope, rule: Rule, target: RuleTarget): Promise<void> {
    const max = this.opts.maxAttempts ?? 4;
    let lastError = "";
    for (let attempt = 1; attempt <= max; attempt++) {
      try {
        await target.invoke(structuredClone(event));
        this.deliveries.push({
          eventId: event.id,
          rule: rule.name,
          target: target.id,
          attempts: attempt,
          status: "SUCCEEDED",
        });
        return;
      } catch (err) {
        lastError = `${(err as Error).name}: ${(err as Error).message}`;
        if (attempt < max) await this.opts.clock.sleep(2 ** (attempt - 1));
      }
    }
    this.deliveries.push({
      eventId: event.id,
      rule: rule.name,
      target: target.id,
      attempts: max,
      status: "FAILED",
      error: lastError,
    });
    this.deadLetters.push({ event, rule: rule.name, target: target.id, error: lastError });
    appendFileSync(
      join(this.opts.stateDir, "dead-letters.jsonl"),
      `${JSON.stringify({ rule: rule.name, target: target.id, error: lastError, event })}\n`,
    );
  }

  /** Resolves when every delivery under way has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** EventBridge writes `time` to the second: 2026-11-24T23:00:00Z. */
export function toIsoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
