import { describe, expect, it } from "vitest";
import type { RolloutStage } from "../../config/types.ts";
import { decideGate, deviceCounts } from "../../functions/deployment/rollout.ts";

const stage: RolloutStage = {
  name: "canary",
  targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/canary",
  successThresholdPercent: 90,
  maxFailures: 1,
  bakeSeconds: 300,
  timeoutSeconds: 1800,
};
const startedAt = "2026-11-24T10:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(startedAt) + seconds * 1000);
const counts = (succeeded: number, failed = 0, inProgress = 0) =>
  deviceCounts({
    numberOfSucceededThings: succeeded,
    numberOfFailedThings: failed,
    numberOfInProgressThings: inProgress,
  });

describe("rollout gate", () => {
  it("counts failed, rejected and timed-out devices as failures; removed ones drop out of the total", () => {
    expect(
      deviceCounts({
        numberOfSucceededThings: 5,
        numberOfFailedThings: 1,
        numberOfRejectedThings: 1,
        numberOfTimedOutThings: 1,
        numberOfQueuedThings: 2,
        numberOfRemovedThings: 3,
      }),
    ).toEqual({ total: 10, succeeded: 5, failed: 3, inProgress: 0, queued: 2, canceled: 0, removed: 3 });
  });

  it("keeps polling below the threshold, then bakes, then passes", () => {
    expect(decideGate({ stage, counts: counts(5, 0, 5), startedAt, now: at(60) })).toEqual({
      status: "IN_PROGRESS",
    });
    const reached = decideGate({ stage, counts: counts(9, 0, 1), startedAt, now: at(120) });
    expect(reached).toEqual({ status: "IN_PROGRESS", thresholdReachedAt: at(120).toISOString() });
    const baking = decideGate({
      stage,
      counts: counts(10),
      startedAt,
      thresholdReachedAt: reached.thresholdReachedAt,
      now: at(300),
    });
    expect(baking.status).toBe("IN_PROGRESS");
    const passed = decideGate({
      stage,
      counts: counts(10),
      startedAt,
      thresholdReachedAt: reached.thresholdReachedAt,
      now: at(420),
    });
    expect(passed).toMatchObject({
      status: "PASSED",
      reason: "10/10 succeeded, 0 failed, 0 pending; baked 300 s",
    });
  });

  it("a ratio that falls back below the threshold restarts the bake", () => {
    const out = decideGate({
      stage,
      counts: counts(8, 0, 4),
      startedAt,
      thresholdReachedAt: at(10).toISOString(),
      now: at(400),
    });
    expect(out).toEqual({ status: "IN_PROGRESS" });
  });

  it("fails on more failures than maxFailures, even above the threshold", () => {
    expect(decideGate({ stage, counts: counts(18, 2), startedAt, now: at(30) })).toMatchObject({
      status: "FAILED",
      reason: "2 device(s) failed, more than maxFailures 1 (18/20 succeeded, 2 failed, 0 pending)",
    });
  });

  it("fails when the job was cancelled by its abort criteria or the deployment failed", () => {
    expect(
      decideGate({ stage, counts: counts(1, 1), startedAt, jobStatus: "CANCELED", now: at(30) }).status,
    ).toBe("FAILED");
    expect(
      decideGate({ stage, counts: counts(1), startedAt, deploymentStatus: "FAILED", now: at(30) }).status,
    ).toBe("FAILED");
  });

  it("fails after the stage timeout, including an empty group", () => {
    expect(decideGate({ stage, counts: counts(3, 0, 7), startedAt, now: at(1801) })).toMatchObject({
      status: "FAILED",
      reason: expect.stringContaining("timed out after 1801 s (timeoutSeconds 1800) with 3/10 succeeded"),
    });
    expect(decideGate({ stage, counts: counts(0), startedAt, now: at(1801) }).status).toBe("FAILED");
  });
});
