import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
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
import { greengrassStoreOf } from "../../local/greengrass/index.ts";
import type { GreengrassStore } from "../../local/greengrass/store.ts";
import { stepFunctionsEngineOf } from "../../local/stepfunctions/index.ts";
import { configureFlow, stateMachineArnOf } from "../../local/wiring.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";
import { classifierOnnx } from "./onnx-fixtures.ts";

/* The same run as pipeline.test.ts with 30% of SageMaker, Greengrass and IoT calls throttled. */
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

/** Reports every pending deployment as succeeded, as a healthy nucleus would. */
function startDeviceLoop(store: GreengrassStore, things: string[]): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const thing of things) {
        for (const d of store.pendingDeploymentsFor(thing)) {
          await store.reportEffectiveDeployment(thing, d.deploymentId, "IN_PROGRESS");
          await store.reportEffectiveDeployment(thing, d.deploymentId, "SUCCEEDED");
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
  ep = await startTestEndpoint({
    discover: true,
    faults: { throttle: { sagemaker: 0.3, greengrass: 0.3, iot: 0.3 }, seed: 42 },
  });
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
  stopDevices = startDeviceLoop(store, Object.keys(devices));
});

afterAll(async () => {
  await stopDevices?.();
  await ep?.dispose();
});

it("with 30% throttling on sagemaker, greengrass and iot the execution still succeeds", async () => {
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
  expect(listed.executions).toHaveLength(1);
  const executionArn = listed.executions?.[0]?.executionArn as string;
  await stepFunctionsEngineOf(ep.url).waitFor(executionArn);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  expect({ status: described.status, error: described.error, cause: described.cause }).toEqual({
    status: "SUCCEEDED",
    error: undefined,
    cause: undefined,
  });

  // Throttling really happened on every service.
  const throttled = Object.fromEntries(ep.faults.throttled);
  const perService = (service: string) =>
    Object.entries(throttled)
      .filter(([k]) => k.startsWith(`${service}:`))
      .reduce((n, [, v]) => n + v, 0);
  for (const service of ["sagemaker", "greengrass", "iot"]) expect(perService(service)).toBeGreaterThan(0);
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  expect(history.events?.at(-1)?.type).toBe("ExecutionSucceeded");
  expect(
    history.events?.filter(
      (e) => e.type === "TaskStateEntered" && e.stateEnteredEventDetails?.name === "DeployStage",
    ),
  ).toHaveLength(2);
});
