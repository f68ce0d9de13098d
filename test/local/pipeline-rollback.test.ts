import { GetDeploymentCommand, ListDeploymentsCommand } from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand } from "@aws-sdk/client-iot";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventRouterOf } from "../../local/eventbridge/index.ts";
import {
  approveNewModelPackage,
  awaitFirstExecution,
  pipelineConfig,
  startPipeline,
  statesEntered,
  type TestPipeline,
} from "./helpers.ts";

/* The canary device fails its install: the gate fails, the canary group is rolled back, the execution fails. */
const { config, group } = pipelineConfig();
const devices = { "core-canary-1": "canary", "core-fleet-1": "fleet" } as const;
const failing = new Set(["core-canary-1"]);

let pipeline: TestPipeline;

beforeAll(async () => {
  pipeline = await startPipeline({
    config,
    devices,
    modelKey: "classifier.onnx",
    deviceLoop: {
      // A device fails only the new model; going back to nothing (the rollback) succeeds.
      outcome: (thing, d) =>
        failing.has(thing) && group.componentName in d.components
          ? { status: "FAILED", reason: "install failed: model did not load" }
          : { status: "SUCCEEDED" },
    },
  });
});

afterAll(async () => {
  await pipeline?.dispose();
});

it("a failed canary rolls the canary back and fails the execution; the fleet is never touched", async () => {
  const { ep, sfn, gg } = pipeline;
  await approveNewModelPackage(ep.clients.sagemaker, group.modelPackageGroupName, {
    image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx:latest",
    modelDataUrl: "s3://models/classifier.onnx",
  });

  const { described, history } = await awaitFirstExecution(ep, sfn);
  expect(described.status).toBe("FAILED");
  expect(described.error).toBe("GateFailed");
  expect(described.cause).toMatch(/stage canary failed its gate: 1 device\(s\) failed.*rolled back: canary/);
  const entered = [...new Set(statesEntered(history))];
  expect(entered).toContain("Rollback");
  expect(entered).toContain("NotifyRolledBack");
  expect(entered).not.toContain("NotifySucceeded");
  // Only the canary stage ran.
  expect(
    (history.events ?? []).filter(
      (e) => e.type === "TaskStateEntered" && e.stateEnteredEventDetails?.name === "DeployStage",
    ),
  ).toHaveLength(1);

  const canary = await gg.send(
    new ListDeploymentsCommand({
      targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/canary",
      historyFilter: "ALL",
    }),
  );
  // No earlier deployment to go back to: the new one is canceled, and its IoT job with it.
  expect(canary.deployments).toHaveLength(1);
  const latest = await gg.send(
    new GetDeploymentCommand({ deploymentId: canary.deployments?.[0]?.deploymentId }),
  );
  expect(latest).toMatchObject({ deploymentStatus: "CANCELED" });
  expect((await ep.clients.iot.send(new DescribeJobCommand({ jobId: latest.iotJobId }))).job?.status).toBe(
    "CANCELED",
  );
  const fleet = await gg.send(
    new ListDeploymentsCommand({
      targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/fleet",
      historyFilter: "ALL",
    }),
  );
  expect(fleet.deployments).toEqual([]);
  const outcome = eventRouterOf(ep.url).bus.events.filter((e) => e.source === "edge-mlops");
  expect(outcome.map((e) => e["detail-type"])).toEqual(["EdgeDeploymentRolledBack"]);
});
