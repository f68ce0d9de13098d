import {
  GetDeploymentCommand,
  GreengrassV2Client,
  ListDeploymentsCommand,
} from "@aws-sdk/client-greengrassv2";
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
} from "@aws-sdk/client-iot";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
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
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../config/validate.ts";
import { eventRouterOf } from "../../local/eventbridge/index.ts";
import { greengrassStoreOf } from "../../local/greengrass/index.ts";
import type { GreengrassStore } from "../../local/greengrass/store.ts";
import { stepFunctionsEngineOf } from "../../local/stepfunctions/index.ts";
import { configureFlow, stateMachineArnOf } from "../../local/wiring.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";
import { classifierOnnx } from "./onnx-fixtures.ts";

/* The canary device fails its install: the gate fails, the canary group is rolled back, the execution fails. */
const base = loadConfig();
const group = base.groups[0] as (typeof base.groups)[number];
const config = {
  ...base,
  groups: [
    {
      ...group,
      targets: [group.targets[0] as (typeof group.targets)[number]],
      stages: group.stages.map((s) => ({ ...s, bakeSeconds: 0 })),
    },
  ],
};
const devices = { "core-canary-1": "canary", "core-fleet-1": "fleet" } as const;

/** Reports every pending deployment: failed on the devices in `failing`, succeeded elsewhere. */
function startDeviceLoop(
  store: GreengrassStore,
  things: string[],
  failing: Set<string>,
): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const thing of things) {
        for (const d of store.pendingDeploymentsFor(thing)) {
          await store.reportEffectiveDeployment(thing, d.deploymentId, "IN_PROGRESS");
          // A device fails only the new model; going back to nothing (the rollback) succeeds.
          const fails = failing.has(thing) && group.componentName in d.components;
          await store.reportEffectiveDeployment(
            thing,
            d.deploymentId,
            fails ? "FAILED" : "SUCCEEDED",
            fails ? "install failed: model did not load" : undefined,
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
let stopDevices: () => Promise<void>;

beforeAll(async () => {
  configureFlow({ autoSchedules: false, config });
  ep = await startTestEndpoint({ discover: true });
  const { s3, iot } = ep.clients;
  await s3.send(new CreateBucketCommand({ Bucket: "models" }));
  await s3.send(new PutObjectCommand({ Bucket: "models", Key: "classifier.onnx", Body: classifierOnnx() }));
  const store = greengrassStoreOf(ep.url);
  for (const [thing, g] of Object.entries(devices)) {
    await iot.send(new CreateThingGroupCommand({ thingGroupName: g }));
    await iot.send(new CreateThingCommand({ thingName: thing }));
    await iot.send(new AddThingToThingGroupCommand({ thingName: thing, thingGroupName: g }));
    store.registerCoreDevice(thing, [g]);
  }
  stopDevices = startDeviceLoop(store, Object.keys(devices), new Set(["core-canary-1"]));
});

afterAll(async () => {
  await stopDevices?.();
  await ep?.dispose();
});

it("a failed canary rolls the canary back and fails the execution; the fleet is never touched", async () => {
  const sm = ep.clients.sagemaker;
  await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group.modelPackageGroupName }));
  const pkg = await sm.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: group.modelPackageGroupName,
      ModelApprovalStatus: "PendingManualApproval",
      InferenceSpecification: {
        Containers: [
          {
            Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx:latest",
            ModelDataUrl: "s3://models/classifier.onnx",
            Framework: "ONNX",
            ModelInput: { DataInputConfig: '{"input":[1,16]}' },
          },
        ],
        SupportedContentTypes: ["application/json"],
        SupportedResponseMIMETypes: ["application/json"],
      },
    }),
  );
  await sm.send(
    new UpdateModelPackageCommand({ ModelPackageArn: pkg.ModelPackageArn, ModelApprovalStatus: "Approved" }),
  );

  const sfn = new SFNClient({ endpoint: ep.url, region, credentials });
  const stateMachineArn = stateMachineArnOf({ region, accountId: "000000000000" });
  const listed = await until(
    () => sfn.send(new ListExecutionsCommand({ stateMachineArn })),
    (r) => (r.executions?.length ?? 0) > 0,
  );
  const executionArn = listed.executions?.[0]?.executionArn as string;
  await stepFunctionsEngineOf(ep.url).waitFor(executionArn);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  expect(described.status).toBe("FAILED");
  expect(described.error).toBe("GateFailed");
  expect(described.cause).toMatch(/stage canary failed its gate: 1 device\(s\) failed.*rolled back: canary/);
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  const entered = [
    ...new Set(
      (history.events ?? [])
        .filter((e) => e.type?.endsWith("StateEntered"))
        .map((e) => e.stateEnteredEventDetails?.name),
    ),
  ];
  expect(entered).toContain("Rollback");
  expect(entered).toContain("NotifyRolledBack");
  expect(entered).not.toContain("NotifySucceeded");
  // Only the canary stage ran.
  expect(
    (history.events ?? []).filter(
      (e) => e.type === "TaskStateEntered" && e.stateEnteredEventDetails?.name === "DeployStage",
    ),
  ).toHaveLength(1);

  const gg = new GreengrassV2Client({ endpoint: ep.url, region, credentials });
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
