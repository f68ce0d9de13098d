import {
  GetDeploymentCommand,
  GreengrassV2Client,
  ListDeploymentsCommand,
} from "@aws-sdk/client-greengrassv2";
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
} from "@aws-sdk/client-iot";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  UpdateModelPackageCommand,
} from "@aws-sdk/client-sagemaker";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/validate.ts";
import { eventRouterOf } from "../../local/eventbridge/index.ts";
import { greengrassStoreOf } from "../../local/greengrass/index.ts";
import type { GreengrassStore } from "../../local/greengrass/store.ts";
import { stepFunctionsEngineOf } from "../../local/stepfunctions/index.ts";
import { configureFlow, localResources, stateMachineArnOf } from "../../local/wiring.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";
import { classifierOnnx } from "./onnx-fixtures.ts";

/*
 * Approval → EventBridge → start-deployment → edge-deployment (real ASL, real handlers) → local
 * compiler → component → Greengrass deployments → devices report → Notify. One target, two stages.
 */
const base = loadConfig();
const group = base.groups[0] as (typeof base.groups)[number];
const config = {
  ...base,
  groups: [
    {
      ...group,
      targets: [group.targets[0] as (typeof group.targets)[number]],
      // check-rollout measures bake time on the wall clock, not the endpoint's (see the report): no bake here.
      stages: group.stages.map((s) => ({ ...s, bakeSeconds: 0 })),
    },
  ],
};
const groupName = group.modelPackageGroupName;
const devices = { "core-canary-1": "canary", "core-fleet-1": "fleet", "core-fleet-2": "fleet" } as const;

/** A tiny nucleus: takes each pending deployment, reports IN_PROGRESS then SUCCEEDED and what it runs. */
function startDeviceLoop(store: GreengrassStore, things: string[]): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const thing of things) {
        for (const d of store.pendingDeploymentsFor(thing)) {
          await store.reportEffectiveDeployment(thing, d.deploymentId, "IN_PROGRESS");
          await store.reportEffectiveDeployment(thing, d.deploymentId, "SUCCEEDED");
          store.reportInstalledComponents(
            thing,
            Object.entries(d.components).map(([componentName, spec]) => ({
              componentName,
              componentVersion: spec.componentVersion,
              lifecycleState: "RUNNING",
              isRoot: true,
            })),
          );
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

let ep: TestEndpoint;
let sfn: SFNClient;
let gg: GreengrassV2Client;
let stopDevices: () => Promise<void>;

beforeAll(async () => {
  configureFlow({ autoSchedules: false, config });
  ep = await startTestEndpoint({ discover: true });
  const common = { endpoint: ep.url, region, credentials };
  sfn = new SFNClient(common);
  gg = new GreengrassV2Client(common);
  const { s3, iot } = ep.clients;
  await s3.send(new CreateBucketCommand({ Bucket: "models" }));
  await s3.send(
    new PutObjectCommand({ Bucket: "models", Key: "classifier/1/classifier.onnx", Body: classifierOnnx() }),
  );
  for (const g of new Set(Object.values(devices)))
    await iot.send(new CreateThingGroupCommand({ thingGroupName: g }));
  const store = greengrassStoreOf(ep.url);
  for (const [thing, g] of Object.entries(devices)) {
    await iot.send(new CreateThingCommand({ thingName: thing }));
    await iot.send(new AddThingToThingGroupCommand({ thingName: thing, thingGroupName: g }));
    store.registerCoreDevice(thing, [g]);
  }
  stopDevices = startDeviceLoop(store, Object.keys(devices));
});

afterAll(async () => {
  await stopDevices?.();
  await ep?.dispose();
});

describe("edge-deployment against the local endpoint", () => {
  it("one approval, repeated, starts exactly one execution, which runs to SUCCEEDED", async () => {
    const sm = ep.clients.sagemaker;
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: groupName }));
    const pkg = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: groupName,
        ModelApprovalStatus: "PendingManualApproval",
        InferenceSpecification: {
          Containers: [
            {
              Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx-inference:latest",
              ModelDataUrl: "s3://models/classifier/1/classifier.onnx",
              Framework: "ONNX",
              ModelInput: { DataInputConfig: '{"input":[1,16]}' },
            },
          ],
          SupportedContentTypes: ["application/json"],
          SupportedResponseMIMETypes: ["application/json"],
        },
      }),
    );
    const arn = pkg.ModelPackageArn as string;
    await sm.send(new UpdateModelPackageCommand({ ModelPackageArn: arn, ModelApprovalStatus: "Approved" }));
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
    const entered = (history.events ?? [])
      .filter((e) => e.type?.endsWith("StateEntered"))
      .map((e) => e.stateEnteredEventDetails?.name);
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
