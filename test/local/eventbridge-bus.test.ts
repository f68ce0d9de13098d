import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EventBus, type EventEnvelope } from "../../local/eventbridge/bus.ts";
import {
  nextFireTime,
  parseScheduleExpression,
  ScheduleExpressionError,
} from "../../local/eventbridge/schedule-expression.ts";
import { Scheduler } from "../../local/eventbridge/scheduler.ts";
import { ScaledClock } from "../../local/server/clock.ts";

const start = new Date("2026-11-24T10:15:30Z");
const newBus = (maxAttempts = 3) =>
  new EventBus({
    clock: new ScaledClock(0, start),
    region: "us-east-1",
    accountId: "000000000000",
    stateDir: mkdtempSync(join(tmpdir(), "bus-")),
    maxAttempts,
  });

describe("PutEvents", () => {
  it("validates each entry on its own and routes the good ones to matching rules only", async () => {
    const bus = newBus();
    const got: EventEnvelope[] = [];
    bus.addRule({
      name: "drift",
      eventBusName: "edge-mlops",
      eventPattern: { source: ["edge-mlops"], "detail-type": ["ModelDriftDetected"] },
      targets: [{ id: "t", invoke: async (e) => got.push(e) }],
    });
    const result = bus.putEvents([
      {
        Source: "edge-mlops",
        DetailType: "ModelDriftDetected",
        Detail: '{"model":"m"}',
        EventBusName: "edge-mlops",
      },
      {
        Source: "edge-mlops",
        DetailType: "ModelDriftDetected",
        Detail: "not json",
        EventBusName: "edge-mlops",
      },
      { Source: "edge-mlops", DetailType: "ModelDriftDetected", Detail: '{"model":"m"}' },
      { DetailType: "x", Detail: "{}" },
      { Source: "aws.sagemaker", DetailType: "SageMaker Model Package State Change", Detail: "{}" },
    ]);
    await bus.idle();
    expect(result.FailedEntryCount).toBe(3);
    expect(result.Entries.map((e) => ("ErrorCode" in e ? e.ErrorCode : "ok"))).toEqual([
      "ok",
      "MalformedDetail",
      "ok",
      "InvalidArgument",
      "NotAuthorizedForSourceException",
    ]);
    // The third entry went to the default bus, where the rule does not listen.
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      version: "0",
      source: "edge-mlops",
      "detail-type": "ModelDriftDetected",
      account: "000000000000",
      region: "us-east-1",
      detail: { model: "m" },
    });
    expect(got[0]?.time).toMatch(/^2026-11-24T10:15:3\dZ$/);
    expect(got[0]?.id).toBe((result.Entries[0] as { EventId: string }).EventId);
  });

  it("retries a failing target on the clock, dead-letters it, and still delivers to the other target", async () => {
    const bus = newBus(3);
    let calls = 0;
    const ok: string[] = [];
    bus.addRule({
      name: "r",
      eventBusName: "default",
      eventPattern: { source: ["aws.sagemaker"] },
      targets: [
        {
          id: "broken",
          invoke: async () => {
            calls++;
            throw new Error("boom");
          },
        },
        { id: "fine", invoke: async (e) => ok.push(e.id) },
      ],
    });
    bus.emit({ Source: "aws.sagemaker", DetailType: "SageMaker Model Package State Change", Detail: "{}" });
    await bus.idle();
    expect(calls).toBe(3);
    expect(ok).toHaveLength(1);
    expect(bus.deadLetters).toMatchObject([{ rule: "r", target: "broken", error: "Error: boom" }]);
    expect(bus.deliveries.map((d) => [d.target, d.status, d.attempts])).toEqual(
      expect.arrayContaining([
        ["fine", "SUCCEEDED", 1],
        ["broken", "FAILED", 3],
      ]),
    );
  });
});

describe("schedule expressions", () => {
  it.each([
    ["cron(0 3 * * ? *)", "2026-11-24T10:15:30Z", "2026-11-25T03:00:00.000Z"],
    ["cron(0 3 * * ? *)", "2026-11-24T02:59:00Z", "2026-11-24T03:00:00.000Z"],
    ["cron(15 10 ? * MON-FRI *)", "2026-11-27T10:15:00Z", "2026-11-30T10:15:00.000Z"],
    ["cron(0/20 * * * ? *)", "2026-11-24T10:15:30Z", "2026-11-24T10:20:00.000Z"],
    ["cron(0 0 1 JAN ? 2027)", "2026-11-24T10:15:30Z", "2027-01-01T00:00:00.000Z"],
    ["rate(1 hour)", "2026-11-24T10:15:30Z", "2026-11-24T11:15:30.000Z"],
    ["at(2026-12-01T00:00:00)", "2026-11-24T10:15:30Z", "2026-12-01T00:00:00.000Z"],
  ])("%s after %s fires at %s", (expr, after, expected) => {
    expect(nextFireTime(parseScheduleExpression(expr), new Date(after))?.toISOString()).toBe(expected);
  });

  it.each([
    "cron(0 3 * * *)",
    "cron(0 3 * * MON *)",
    "rate(0 hours)",
    "rate(5 weeks)",
    "every day",
    "cron(0 3 L * ? *)",
  ])("refuses %s", (expr) => {
    expect(() => parseScheduleExpression(expr)).toThrow(ScheduleExpressionError);
  });
});

describe("Scheduler", () => {
  it("fires on the clock and on tick with Scheduler's context attributes filled in", async () => {
    const clock = new ScaledClock(0, start);
    const scheduler = new Scheduler({
      clock,
      region: "us-east-1",
      accountId: "000000000000",
      minWallIntervalMs: 1,
    });
    const inputs: unknown[] = [];
    scheduler.add({
      name: "redeploy",
      expression: "rate(1 hour)",
      input: JSON.stringify({
        time: "<aws.scheduler.scheduled-time>",
        arn: "<aws.scheduler.schedule-arn>",
        id: "<aws.scheduler.execution-id>",
      }),
      target: async (input) => inputs.push(input),
    });
    const [run] = await scheduler.tick("redeploy");
    expect(run).toMatchObject({ schedule: "redeploy", trigger: "tick", status: "SUCCEEDED" });
    expect(inputs[0]).toEqual({
      time: "2026-11-24T10:15:30Z",
      arn: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/redeploy",
      id: run?.executionId,
    });
    scheduler.start();
    // With a zero time scale each clock sleep returns at once: three hourly runs take a few ticks.
    while (scheduler.runs.filter((r) => r.trigger === "clock").length < 3)
      await new Promise((r) => setImmediate(r));
    scheduler.close();
    const clockRuns = scheduler.runs.filter((r) => r.trigger === "clock").slice(0, 3);
    expect(clockRuns.map((r) => r.scheduledTime)).toEqual([
      "2026-11-24T11:15:30Z",
      "2026-11-24T12:15:30Z",
      "2026-11-24T13:15:30Z",
    ]);
    await expect(scheduler.tick("nope")).rejects.toThrow(/no schedule named nope/);
  });
});
