import "./env.ts";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CancelDeploymentCommand,
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
} from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand } from "@aws-sdk/client-iot";
import {
  CreateCompilationJobCommand,
  CreateEdgePackagingJobCommand,
  DescribeCompilationJobCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
} from "@aws-sdk/client-sagemaker";
import { beforeEach, describe, expect, it } from "vitest";
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
});
