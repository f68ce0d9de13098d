import "./env.ts";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { CancelDeploymentCommand, CreateDeploymentCommand } from "@aws-sdk/client-greengrassv2";
import { DescribeEdgePackagingJobCommand } from "@aws-sdk/client-sagemaker";
import { beforeEach, describe, expect, it } from "vitest";
import { handler as checkPackaging } from "../../functions/deployment/check-packaging.ts";
import { clientToken } from "../../functions/deployment/names.ts";
import { readableCause } from "../../functions/deployment/notification.ts";
import { handler as notify } from "../../functions/deployment/notify.ts";
import type { DeploymentPlan, PackagingState, RolloutState } from "../../functions/deployment/plan.ts";
import { handler as resolve } from "../../functions/deployment/resolve-model-package.ts";
import { handler as rollback } from "../../functions/deployment/rollback.ts";
import { CANARY_ARN, COMPONENT, EVENT_BUS, FLEET_ARN, PACKAGE_ARN } from "../fixtures/deployment/config.ts";
import { lambdaContext } from "../fixtures/deployment/context.ts";
import { eventBridge, fakeAws, greengrass, sageMaker } from "./fake-aws.ts";

let plan: DeploymentPlan;
const previous = { [COMPONENT]: { componentVersion: "1.0.2" } };
const rollout: RolloutState = {
  index: 1,
  done: false,
  touched: [
    {
      stageName: "canary",
      targetArn: CANARY_ARN,
      deploymentId: "d-canary",
      previousDeploymentId: "d-old",
      previousComponents: previous,
    },
    { stageName: "fleet", targetArn: FLEET_ARN, deploymentId: "d-fleet" },
  ],
  completed: [],
  current: {
    stageIndex: 1,
    stageName: "fleet",
    deploymentId: "d-fleet",
    startedAt: "2026-11-24T10:00:00.000Z",
    polls: 3,
    status: "FAILED",
    reason: "3 device(s) failed, more than maxFailures 0 (5/8 succeeded, 3 failed, 0 pending)",
    counts: { total: 8, succeeded: 5, failed: 3, inProgress: 0, queued: 0, canceled: 0, removed: 0 },
  },
};

beforeEach(async () => {
  fakeAws();
  const out = (await resolve(
    {
      input: { modelPackageArn: PACKAGE_ARN(3) },
      executionName: "exec-1",
      pollSeconds: { compilation: 1, packaging: 1, rollout: 1 },
    },
    lambdaContext,
  )) as { plan: DeploymentPlan };
  plan = out.plan;
});

describe("Rollback", () => {
  it("restores previous components where there were some, cancels where there were none, newest stage first", async () => {
    const out = await rollback({ plan, rollout }, lambdaContext);
    expect(greengrass).toHaveReceivedCommandWith(CancelDeploymentCommand, { deploymentId: "d-fleet" });
    expect(greengrass).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      targetArn: CANARY_ARN,
      components: previous,
      clientToken: clientToken("exec-1", "canary", "rollback"),
      deploymentPolicies: expect.objectContaining({ failureHandlingPolicy: "ROLLBACK" }),
    });
    expect(out.stages.map((s) => [s.stageName, s.action])).toEqual([
      ["fleet", "canceled"],
      ["canary", "redeployed-previous"],
    ]);
  });

  it("one stage failing does not stop the others; the failure is reported after all were tried", async () => {
    greengrass
      .on(CancelDeploymentCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    await expect(rollback({ plan, rollout }, lambdaContext)).rejects.toMatchObject({
      name: "RollbackIncompleteError",
      message: expect.stringContaining("rollback failed for 1 of 2 stage(s): fleet"),
    });
    expect(greengrass).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  it("a deployment already cancelled counts as cancelled", async () => {
    greengrass
      .on(CancelDeploymentCommand)
      .rejects(Object.assign(new Error("already"), { name: "ConflictException" }));
    await expect(rollback({ plan, rollout }, lambdaContext)).resolves.toMatchObject({
      stages: expect.any(Array),
    });
  });
});

describe("Notify", () => {
  it("a rollback is put on the bus and ends as GateFailed naming stage and counts", async () => {
    const failure = await notify(
      {
        detailType: "EdgeDeploymentRolledBack",
        state: {
          plan,
          rollout,
          rollback: {
            stages: [
              { stageName: "fleet", targetArn: FLEET_ARN, action: "canceled", deploymentId: "d-fleet" },
            ],
          },
        },
      },
      lambdaContext,
    );
    expect(failure).toEqual({
      Error: "GateFailed",
      Cause:
        "stage fleet failed its gate: 3 device(s) failed, more than maxFailures 0 (5/8 succeeded, 3 failed, 0 pending); rolled back: fleet",
    });
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      Source: "edge-mlops",
      DetailType: "EdgeDeploymentRolledBack",
      EventBusName: EVENT_BUS,
      Resources: [PACKAGE_ARN(3)],
    });
    expect(JSON.parse(entry?.Detail ?? "")).toMatchObject({
      modelPackageVersion: 3,
      targets: ["linux-x86-64", "linux-arm64"],
      stages: [
        { name: "canary", status: "NOT_STARTED" },
        { name: "fleet", status: "ROLLED_BACK", counts: { failed: 3 } },
      ],
    });
  });

  it("a Lambda error's JSON Cause becomes its message", async () => {
    const cause = JSON.stringify({
      errorType: "CompilationFailedError",
      errorMessage: "job x FAILED: bad shape",
      trace: ["at …"],
    });
    expect(readableCause(cause)).toBe("job x FAILED: bad shape");
    const failure = await notify(
      {
        detailType: "EdgeDeploymentFailed",
        state: { plan, error: { Error: "CompilationFailedError", Cause: cause } },
      },
      lambdaContext,
    );
    expect(failure).toEqual({ Error: "CompilationFailedError", Cause: "job x FAILED: bad shape" });
  });

  it("a rejected entry is retried (TransientError), not lost", async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try again" }],
    });
    await expect(
      notify({ detailType: "EdgeDeploymentSucceeded", state: { plan } }, lambdaContext),
    ).rejects.toMatchObject({ name: "TransientError" });
  });
});

describe("CheckPackaging (edge-packaging-job)", () => {
  const packaging: PackagingState = {
    strategy: "edge-packaging-job",
    status: "IN_PROGRESS",
    polls: 0,
    components: [],
    jobs: [
      {
        target: "linux-arm64",
        jobName: "g-v3-linux-arm64-pkg",
        componentName: "c-linux-arm64",
        status: "STARTING",
      },
    ],
  };

  it("keeps polling INPROGRESS, fails FAILED with the job's message", async () => {
    sageMaker
      .on(DescribeEdgePackagingJobCommand)
      .resolvesOnce({ EdgePackagingJobStatus: "INPROGRESS" } as never)
      .resolves({
        EdgePackagingJobStatus: "FAILED",
        EdgePackagingJobStatusMessage: "Edge Manager is no longer available",
      } as never);
    const first = (await checkPackaging({ plan, compiled: [], packaging }, lambdaContext)) as PackagingState;
    expect(first).toMatchObject({ status: "IN_PROGRESS", polls: 1, jobs: [{ status: "INPROGRESS" }] });
    await expect(
      checkPackaging({ plan, compiled: [], packaging: first }, lambdaContext),
    ).rejects.toMatchObject({
      name: "PackagingFailedError",
      message: "edge packaging job g-v3-linux-arm64-pkg FAILED: Edge Manager is no longer available",
    });
  });
});
