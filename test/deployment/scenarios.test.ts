import "./env.ts";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CancelDeploymentCommand,
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
  GetComponentCommand,
} from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand } from "@aws-sdk/client-iot";
import {
  CreateCompilationJobCommand,
  CreateEdgePackagingJobCommand,
  DescribeCompilationJobCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
} from "@aws-sdk/client-sagemaker";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { statesEntered } from "../../stepfunctions/run-local.ts";
import { CANARY_ARN, COMPONENT, FLEET_ARN, PACKAGE_ARN } from "../fixtures/deployment/config.ts";
import { eventBridge, fakeAws, greengrass, iot, putEvents, sageMaker } from "./fake-aws.ts";
import { run } from "./run.ts";

const OTHER = { "com.example.Telemetry": { componentVersion: "2.1.0" } };

describe("edge-deployment state machine (real ASL, real handlers, mocked AWS)", () => {
  beforeEach(() => {
    fakeAws({ existing: { [CANARY_ARN]: { ...OTHER, [COMPONENT]: { componentVersion: "1.0.2" } } } });
  });

  it("happy path: 2 targets compiled, one component, canary then fleet", async () => {
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status, result.cause).toBe("SUCCEEDED");
    const states = statesEntered(result.events);
    expect(states.filter((s) => s === "StartCompilation")).toHaveLength(2);
    expect(states.filter((s) => s === "CheckCompilation")).toHaveLength(4);
    expect(states.filter((s) => s === "DeployStage")).toHaveLength(2);
    expect(states).toEqual(
      expect.arrayContaining([
        "ResolveModelPackage",
        "CompileTargets",
        "StartPackaging",
        "CheckPackaging",
        "NotifySucceeded",
        "DeploymentSucceeded",
      ]),
    );
    expect(states).not.toContain("Rollback");

    const jobNames = sageMaker
      .commandCalls(CreateCompilationJobCommand)
      .map((c) => c.args[0].input.CompilationJobName);
    expect(jobNames.sort()).toEqual([
      "edge-mlops-example-classifier-v3-linux-arm64",
      "edge-mlops-example-classifier-v3-linux-x86-64",
    ]);
    expect(greengrass).toHaveReceivedCommandTimes(CreateComponentVersionCommand, 1);

    const deploys = greengrass.commandCalls(CreateDeploymentCommand).map((c) => c.args[0].input);
    expect(deploys.map((d) => d.targetArn)).toEqual([CANARY_ARN, FLEET_ARN]);
    expect(deploys[0]?.components).toEqual({ ...OTHER, [COMPONENT]: { componentVersion: "1.0.3" } });
    expect(deploys[1]?.components).toEqual({ [COMPONENT]: { componentVersion: "1.0.3" } });
    // One GetDeployment-equivalent and one DescribeJob per poll: two stages, one poll each.
    expect(iot).toHaveReceivedCommandTimes(DescribeJobCommand, 2);

    const [event] = putEvents();
    expect(event?.DetailType).toBe("EdgeDeploymentSucceeded");
    expect(event?.detail).toMatchObject({
      modelPackageArn: PACKAGE_ARN(3),
      modelPackageVersion: 3,
      componentVersion: "1.0.3",
      targets: ["linux-x86-64", "linux-arm64"],
      stages: [
        { name: "canary", status: "PASSED" },
        { name: "fleet", status: "PASSED" },
      ],
    });
  });

  it("compilation FAILED: the branch ends with Neo's FailureReason, nothing is packaged or deployed", async () => {
    fakeAws({
      compilation: (job, poll) =>
        job.endsWith("arm64") && poll === 2
          ? {
              status: "FAILED",
              reason: "ClientError: InputConfiguration: input shape does not match the model",
            }
          : { status: poll === 1 ? "INPROGRESS" : "COMPLETED" },
    });
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("CompilationFailedError");
    expect(result.cause).toContain(
      "edge-mlops-example-classifier-v3-linux-arm64 FAILED: ClientError: InputConfiguration",
    );
    const states = statesEntered(result.events);
    expect(states.filter((s) => s === "CheckCompilation")).toHaveLength(4);
    expect(states).toContain("NotifyFailed");
    expect(states.at(-1)).toBe("DeploymentFailed");
    expect(states).not.toContain("StartPackaging");
    expect(greengrass).not.toHaveReceivedCommand(CreateComponentVersionCommand);
    expect(greengrass).not.toHaveReceivedCommand(CreateDeploymentCommand);
    const [event] = putEvents();
    expect(event?.DetailType).toBe("EdgeDeploymentFailed");
    expect(event?.detail.reason).toContain("CompilationFailedError");
  });

  it("packaging FAILED: the component's status message is the Cause", async () => {
    fakeAws({
      componentState: (poll) =>
        poll === 1
          ? { state: "INITIATED" }
          : { state: "FAILED", message: "artifact digest mismatch for linux-arm64" },
    });
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("PackagingFailedError");
    expect(result.cause).toContain("artifact digest mismatch for linux-arm64");
    expect(statesEntered(result.events).filter((s) => s === "CheckPackaging")).toHaveLength(2);
    expect(greengrass).toHaveReceivedCommandTimes(DescribeComponentCommand, 2);
    expect(greengrass).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(putEvents().map((e) => e.DetailType)).toEqual(["EdgeDeploymentFailed"]);
  });

  it("canary failures: the canary gate fails, the canary goes back to its previous components, fleet untouched", async () => {
    fakeAws({
      existing: { [CANARY_ARN]: { ...OTHER, [COMPONENT]: { componentVersion: "1.0.2" } } },
      jobCounts: (target, poll) =>
        target === CANARY_ARN && poll >= 2
          ? { numberOfSucceededThings: 1, numberOfFailedThings: 1 }
          : { numberOfInProgressThings: 2 },
    });
    const failed = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toBe("GateFailed");
    expect(failed.cause).toContain(
      "stage canary failed its gate: 1 device(s) failed, more than maxFailures 0",
    );
    expect(failed.cause).toContain("1/2 succeeded");
    const states = statesEntered(failed.events);
    expect(states.filter((s) => s === "CheckRollout")).toHaveLength(2);
    expect(states.slice(-4)).toEqual(["Rollback", "RolledBackAfterError?", "NotifyRolledBack", "RolledBack"]);
    expect(states.filter((s) => s === "DeployStage")).toHaveLength(1);
    const deploys = greengrass.commandCalls(CreateDeploymentCommand).map((c) => c.args[0].input);
    expect(deploys.map((d) => [d.targetArn, d.components?.[COMPONENT]?.componentVersion])).toEqual([
      [CANARY_ARN, "1.0.3"],
      [CANARY_ARN, "1.0.2"],
    ]);
    expect(deploys[1]?.components).toEqual({ ...OTHER, [COMPONENT]: { componentVersion: "1.0.2" } });
    expect(putEvents().map((e) => e.DetailType)).toEqual(["EdgeDeploymentRolledBack"]);
  });

  it("fleet failures after a good canary: both touched groups are rolled back (fleet had nothing before: cancelled)", async () => {
    fakeAws({
      existing: { [CANARY_ARN]: { ...OTHER, [COMPONENT]: { componentVersion: "1.0.2" } } },
      jobCounts: (target) =>
        target === FLEET_ARN
          ? { numberOfSucceededThings: 2, numberOfFailedThings: 6 }
          : { numberOfSucceededThings: 2 },
    });
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("GateFailed");
    expect(result.cause).toMatch(
      /stage fleet failed its gate: 6 device\(s\) failed.*rolled back: fleet, canary/,
    );
    const deploys = greengrass.commandCalls(CreateDeploymentCommand).map((c) => c.args[0].input);
    expect(deploys.map((d) => d.targetArn)).toEqual([CANARY_ARN, FLEET_ARN, CANARY_ARN]);
    expect(deploys[2]?.components).toEqual({ ...OTHER, [COMPONENT]: { componentVersion: "1.0.2" } });
    expect(greengrass).toHaveReceivedCommandWith(CancelDeploymentCommand, { deploymentId: "dep-3" });
    const [event] = putEvents();
    expect(event?.DetailType).toBe("EdgeDeploymentRolledBack");
    expect(event?.detail.rolledBack).toEqual([
      { stageName: "fleet", targetArn: FLEET_ARN, action: "canceled", deploymentId: "dep-3" },
      { stageName: "canary", targetArn: CANARY_ARN, action: "redeployed-previous", deploymentId: "dep-4" },
    ]);
    expect(event?.detail.stages).toMatchObject([
      { name: "canary", status: "ROLLED_BACK" },
      { name: "fleet", status: "ROLLED_BACK", counts: { failed: 6, succeeded: 2, total: 8 } },
    ]);
  });

  it("throttling is retried with backoff by the state machine, then succeeds", async () => {
    sageMaker
      .on(CreateCompilationJobCommand)
      .rejectsOnce(
        Object.assign(new Error("Rate exceeded"), {
          name: "ThrottlingException",
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .rejectsOnce(
        Object.assign(new Error("Rate exceeded"), {
          name: "ThrottlingException",
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .callsFake((input: { CompilationJobName: string }) => ({
        CompilationJobArn: `arn:job/${input.CompilationJobName}`,
      }));
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(Object.assign(new Error("slow down"), { name: "ThrottlingException" }))
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e" }] });
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status, result.cause).toBe("SUCCEEDED");
    const retried = result.events.filter((e) => e.type === "StateRetried").map((e) => e.state?.name);
    expect(retried.sort()).toEqual(["NotifySucceeded", "StartCompilation", "StartCompilation"]);
    const failedErrors = result.events.filter((e) => e.type === "StateFailed").map((e) => e.Error);
    expect(new Set(failedErrors)).toEqual(new Set(["TransientError"]));
    expect(sageMaker).toHaveReceivedCommandTimes(CreateCompilationJobCommand, 4);
  });

  it("legacy edge-packaging-job strategy (package metadata override): one job per target, deploys their components", async () => {
    fakeAws({
      metadata: { "edge-mlops:packagingStrategy": "edge-packaging-job" },
      existing: { [CANARY_ARN]: { ...OTHER, [COMPONENT]: { componentVersion: "1.0.2" } } },
    });
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status, result.cause).toBe("SUCCEEDED");
    const jobs = sageMaker.commandCalls(CreateEdgePackagingJobCommand).map((c) => c.args[0].input);
    expect(jobs.map((j) => j.EdgePackagingJobName).sort()).toEqual([
      "edge-mlops-example-classifier-v3-linux-arm64-pkg",
      "edge-mlops-example-classifier-v3-linux-x86-64-pkg",
    ]);
    expect(jobs[0]?.OutputConfig?.PresetDeploymentType).toBe("GreengrassV2Component");
    expect(JSON.parse(jobs[0]?.OutputConfig?.PresetDeploymentConfig ?? "{}")).toMatchObject({
      ComponentName: expect.stringMatching(/^com\.edgemlops\.models\.ExampleClassifier-linux-/),
      ComponentVersion: "1.0.3",
    });
    expect(greengrass).not.toHaveReceivedCommand(CreateComponentVersionCommand);
    const [canary] = greengrass.commandCalls(CreateDeploymentCommand).map((c) => c.args[0].input);
    expect(canary?.components).toEqual({
      ...OTHER,
      [COMPONENT]: { componentVersion: "1.0.2" },
      [`${COMPONENT}-linux-x86-64`]: { componentVersion: "1.0.3" },
      [`${COMPONENT}-linux-arm64`]: { componentVersion: "1.0.3" },
    });
  });

  it("a package that is not Approved is refused, and deployed with force", async () => {
    fakeAws({ approvalStatus: "PendingManualApproval" });
    const refused = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(refused.status).toBe("FAILED");
    expect(refused.error).toBe("ModelPackageNotApprovedError");
    expect(refused.cause).toContain(
      'is PendingManualApproval, not Approved; approve it, or re-run with "force": true',
    );
    expect(statesEntered(refused.events)).toEqual([
      "ResolveModelPackage",
      "CaptureResolveError",
      "NotifyFailed",
      "DeploymentFailed",
    ]);
    expect(sageMaker).not.toHaveReceivedCommand(CreateCompilationJobCommand);

    fakeAws({ approvalStatus: "PendingManualApproval" });
    const forced = await run({ modelPackageArn: PACKAGE_ARN(3), force: true, targets: ["linux-arm64"] });
    expect(forced.status, forced.cause).toBe("SUCCEEDED");
    expect(
      sageMaker.commandCalls(CreateCompilationJobCommand).map((c) => c.args[0].input.CompilationJobName),
    ).toEqual(["edge-mlops-example-classifier-v3-linux-arm64"]);
    const resolved = forced.events.find(
      (e) => e.type === "StateExited" && e.state?.name === "ResolveModelPackage",
    );
    expect(resolved?.state?.output).toMatchObject({
      plan: { forced: true, approvalStatus: "PendingManualApproval" },
    });
  });

  it("console input by group name deploys the latest Approved package", async () => {
    const result = await run({ modelPackageGroupName: "edge-mlops-example-classifier" });
    expect(result.status, result.cause).toBe("SUCCEEDED");
    expect(sageMaker).toHaveReceivedCommandWith(ListModelPackagesCommand, {
      ModelPackageGroupName: "edge-mlops-example-classifier",
      ModelApprovalStatus: "Approved",
      SortBy: "CreationTime",
      SortOrder: "Descending",
    });
    expect(sageMaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, {
      ModelPackageName: PACKAGE_ARN(3),
    });
  });

  it.each([
    ["a string", "deploy please", "input must be a JSON object"],
    [
      "no package",
      { force: true },
      "input must have exactly one of modelPackageArn and modelPackageGroupName",
    ],
    [
      "a bad ARN",
      { modelPackageArn: "arn:aws:sagemaker:us-east-1:000000000000:model-package/x" },
      "input.modelPackageArn must be a versioned model package ARN",
    ],
    [
      "an unknown field",
      { modelPackageGroupName: "edge-mlops-example-classifier", stage: "fleet" },
      "unknown field(s) stage",
    ],
    [
      "an unknown target",
      { modelPackageArn: PACKAGE_ARN(3), targets: ["jetson"] },
      'input.targets[0] "jetson" is not a target',
    ],
    [
      "an unconfigured group",
      { modelPackageGroupName: "other-group" },
      "model package group other-group is not configured",
    ],
  ])(
    "bad console input (%s) fails in the first state with a message saying what is wrong",
    async (_, input, message) => {
      const result = await run(input);
      expect(result.status).toBe("FAILED");
      expect(result.error).toBe("InvalidInputError");
      expect(result.cause).toContain(message);
      expect(statesEntered(result.events)).toEqual([
        "ResolveModelPackage",
        "CaptureResolveError",
        "NotifyFailed",
        "DeploymentFailed",
      ]);
      expect(sageMaker).not.toHaveReceivedCommand(CreateCompilationJobCommand);
      expect(sageMaker).not.toHaveReceivedCommand(DescribeCompilationJobCommand);
      expect(putEvents()[0]?.detail).toMatchObject({ reason: expect.stringContaining("InvalidInputError") });
    },
  );

  it("an error while rolling out (not a gate) still rolls back touched groups, then fails with that error", async () => {
    greengrass.on(CreateDeploymentCommand, { targetArn: FLEET_ARN }).rejects(
      Object.assign(new Error("User is not authorized to perform iot:CreateJob"), {
        name: "AccessDeniedException",
      }),
    );
    const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(result.status).toBe("FAILED");
    expect(result.error).toBe("AccessDeniedException");
    expect(result.cause).toBe("User is not authorized to perform iot:CreateJob; rolled back: canary");
    expect(statesEntered(result.events).slice(-4)).toEqual([
      "Rollback",
      "RolledBackAfterError?",
      "NotifyFailed",
      "DeploymentFailed",
    ]);
    const canary = greengrass
      .commandCalls(CreateDeploymentCommand)
      .map((c) => c.args[0].input)
      .filter((d) => d.targetArn === CANARY_ARN);
    expect(canary.map((d) => d.components?.[COMPONENT]?.componentVersion)).toEqual(["1.0.3", "1.0.2"]);
    expect(putEvents().map((e) => e.DetailType)).toEqual(["EdgeDeploymentFailed"]);
  });

  it("a stage that never reaches its threshold fails at its timeout and is rolled back", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-24T10:00:00Z") });
    try {
      fakeAws({
        existing: { [CANARY_ARN]: { [COMPONENT]: { componentVersion: "1.0.2" } } },
        jobCounts: () => {
          // Each poll is ten minutes later; the canary's timeoutSeconds is 1800. The gate reads the clock
          // the state entered at ($$.State.EnteredTime), before this poll moved it.
          vi.setSystemTime(Date.now() + 600_000);
          return { numberOfSucceededThings: 1, numberOfInProgressThings: 1 };
        },
      });
      const result = await run({ modelPackageArn: PACKAGE_ARN(3) });
      expect(result.status).toBe("FAILED");
      expect(result.error).toBe("GateFailed");
      expect(result.cause).toContain(
        "stage canary failed its gate: timed out after 2400 s (timeoutSeconds 1800) with 1/2 succeeded",
      );
      expect(iot).toHaveReceivedCommandTimes(DescribeJobCommand, 5);
      expect(statesEntered(result.events).filter((s) => s === "WaitForRollout")).toHaveLength(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a re-run of the same version adopts the existing compilation jobs and component version", async () => {
    const first = await run({ modelPackageArn: PACKAGE_ARN(3) });
    expect(first.status).toBe("SUCCEEDED");
    const recipe = greengrass.commandCalls(CreateComponentVersionCommand)[0]?.args[0].input
      .inlineRecipe as Uint8Array;
    fakeAws({ compilation: () => ({ status: "COMPLETED" }) });
    sageMaker
      .on(CreateCompilationJobCommand)
      .rejects(Object.assign(new Error("exists"), { name: "ResourceInUse" }));
    greengrass
      .on(CreateComponentVersionCommand)
      .rejects(Object.assign(new Error("exists"), { name: "ConflictException" }));
    greengrass.on(GetComponentCommand).resolves({ recipe, recipeOutputFormat: "JSON" });
    const rerun = await run({ modelPackageArn: PACKAGE_ARN(3) }, "manual-rerun-1");
    expect(rerun.status, rerun.cause).toBe("SUCCEEDED");
    const adopted = rerun.events
      .filter((e) => e.type === "StateExited" && e.state?.name === "StartCompilation")
      .map(
        (e) => (e.state?.output as { compilation: { adopted: boolean } } | undefined)?.compilation.adopted,
      );
    expect(adopted).toEqual([true, true]);
    expect(greengrass).toHaveReceivedCommandTimes(GetComponentCommand, 1);
    expect(greengrass).toHaveReceivedCommandTimes(CreateDeploymentCommand, 2);
  });
});
