import { GetDeploymentCommand, ListDeploymentsCommand } from "@aws-sdk/client-greengrassv2";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { UpdateModelPackageCommand } from "@aws-sdk/client-sagemaker";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventRouterOf } from "../../local/eventbridge/index.ts";
import { stepFunctionsEngineOf } from "../../local/stepfunctions/index.ts";
import { localResources, stateMachineArnOf } from "../../local/wiring.ts";
import {
  approveNewModelPackage,
  pipelineConfig,
  region,
  startPipeline,
  statesEntered,
  type TestPipeline,
  until,
} from "./helpers.ts";

/*
 * Approval → EventBridge → start-deployment → edge-deployment (real ASL, real handlers) → local
 * compiler → component → Greengrass deployments → devices report → Notify. One target, two stages.
 */
const { config, group } = pipelineConfig();
const groupName = group.modelPackageGroupName;
const devices = { "core-canary-1": "canary", "core-fleet-1": "fleet", "core-fleet-2": "fleet" } as const;

let pipeline: TestPipeline;

beforeAll(async () => {
  pipeline = await startPipeline({
    config,
    devices,
    modelKey: "classifier/1/classifier.onnx",
    deviceLoop: { reportComponents: true },
  });
});

afterAll(async () => {
  await pipeline?.dispose();
});

describe("edge-deployment against the local endpoint", () => {
  it("one approval, repeated, starts exactly one execution, which runs to SUCCEEDED", async () => {
    const { ep, sfn, gg } = pipeline;
    const sm = ep.clients.sagemaker;
    const arn = await approveNewModelPackage(sm, groupName, {
      image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx-inference:latest",
      modelDataUrl: "s3://models/classifier/1/classifier.onnx",
    });
    await sm.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: arn,
        ModelApprovalStatus: "Approved",
        ApprovalDescription: "again",
      }),
    );
    // SageMaker may deliver the same event twice: emit the one it sent once more.
    const approvalEvent = ep.emitted.find(
      (e) => e.Source === "aws.sagemaker" && JSON.parse(e.Detail).ModelApprovalStatus === "Approved",
    );
    expect(approvalEvent).toBeDefined();
    await ep.context.emit(approvalEvent as NonNullable<typeof approvalEvent>);

    const { bus } = eventRouterOf(ep.url);
    await bus.idle();
    const approvals = bus.deliveries.filter((d) => d.rule === "edge-mlops-approval");
    expect(approvals.map((d) => d.status)).toEqual(["SUCCEEDED", "SUCCEEDED"]);

    const stateMachineArn = stateMachineArnOf({ region, accountId: "000000000000" });
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(listed.executions).toHaveLength(1);
    const executionArn = listed.executions?.[0]?.executionArn as string;
    expect(listed.executions?.[0]?.name).toMatch(new RegExp(`^${groupName}`));

    await stepFunctionsEngineOf(ep.url).waitFor(executionArn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect({ status: described.status, error: described.error, cause: described.cause }).toMatchObject({
      status: "SUCCEEDED",
    });
    expect(JSON.parse(described.input as string)).toEqual({ modelPackageArn: arn, trigger: "approval" });

    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const entered = statesEntered(history);
    const visited = [...new Set(entered)];
    expect(visited).toEqual([
      "ResolveModelPackage",
      "CompileTargets",
      "StartCompilation",
      "WaitForCompilation",
      "CheckCompilation",
      "CompilationFinished?",
      "CompilationCompleted",
      "StartPackaging",
      "WaitForPackaging",
      "CheckPackaging",
      "PackagingDeployable?",
      "StartRollout",
      "DeployStage",
      "WaitForRollout",
      "CheckRollout",
      "RolloutGate",
      "NotifySucceeded",
      "DeploymentSucceeded",
    ]);
    // One DeployStage per rollout stage, canary then fleet.
    expect(entered.filter((n) => n === "DeployStage")).toHaveLength(2);
    expect(history.events?.[0]).toMatchObject({ type: "ExecutionStarted", id: 1, previousEventId: 0 });
    expect(history.events?.at(-1)?.type).toBe("ExecutionSucceeded");

    // What it produced: a compiled artifact, a component version, one deployment per stage, an outcome event.
    const compiled = await ep.clients.s3.send(
      new ListObjectsV2Command({
        Bucket: localResources.artifactBucket,
        Prefix: `compiled/${groupName}/1/${group.targets[0]?.name}/`,
      }),
    );
    expect(compiled.Contents?.length).toBeGreaterThan(0);
    for (const g of ["canary", "fleet"]) {
      const deployments = await gg.send(
        new ListDeploymentsCommand({
          targetArn: `arn:aws:iot:us-east-1:000000000000:thinggroup/${g}`,
          historyFilter: "LATEST_ONLY",
        }),
      );
      expect(deployments.deployments).toHaveLength(1);
      const d = await gg.send(
        new GetDeploymentCommand({ deploymentId: deployments.deployments?.[0]?.deploymentId }),
      );
      expect(d.components?.[group.componentName]).toBeDefined();
      expect(d.deploymentPolicies?.failureHandlingPolicy).toBe("ROLLBACK");
    }
    await until(
      async () => bus.events.filter((e) => e["detail-type"] === "EdgeDeploymentSucceeded"),
      (events) => events.length === 1,
    );
  });
});
