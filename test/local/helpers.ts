import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GreengrassV2Client } from "@aws-sdk/client-greengrassv2";
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  IoTClient,
} from "@aws-sdk/client-iot";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  SageMakerClient,
  UpdateModelPackageCommand,
} from "@aws-sdk/client-sagemaker";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandOutput,
  ListExecutionsCommand,
  SFNClient,
} from "@aws-sdk/client-sfn";
import { loadConfig } from "../../config/validate.ts";
import { type LocalEndpoint, type LocalEndpointOptions, startLocalEndpoint } from "../../local/endpoint.ts";
import { greengrassStoreOf } from "../../local/greengrass/index.ts";
import type { GreengrassStore, PendingDeployment } from "../../local/greengrass/store.ts";
import { stepFunctionsEngineOf } from "../../local/stepfunctions/index.ts";
import { configureFlow, stateMachineArnOf } from "../../local/wiring.ts";
import { classifierOnnx } from "./onnx-fixtures.ts";

export const region = "us-east-1";
export const credentials = { accessKeyId: "AKIDLOCALTEST", secretAccessKey: "not-checked" };

export interface TestEndpoint extends LocalEndpoint {
  dir: string;
  clients: { sagemaker: SageMakerClient; s3: S3Client; iot: IoTClient };
  /** Close and delete the state dir. */
  dispose(): Promise<void>;
}

/** A started endpoint on a free port over a fresh temp state dir, with real SDK v3 clients pointed at it. */
export async function startTestEndpoint(options: LocalEndpointOptions = {}): Promise<TestEndpoint> {
  const dir = options.stateDir ?? mkdtempSync(join(tmpdir(), "edge-mlops-local-test-"));
  const endpoint = await startLocalEndpoint({
    port: 0,
    timeScale: 0,
    discover: false,
    ...options,
    stateDir: dir,
  });
  const common = { endpoint: endpoint.url, region, credentials, maxAttempts: 5 };
  const clients = {
    sagemaker: new SageMakerClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    iot: new IoTClient(common),
  };
  return Object.assign(endpoint, {
    dir,
    clients,
    async dispose() {
      for (const c of Object.values(clients)) c.destroy();
      await endpoint.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Polls `read` until `done` holds, on the wall clock, failing after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first group of the project config cut to one target, with no bake time (check-rollout bakes on the wall clock). */
export function pipelineConfig() {
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
  return { config, group };
}

export type DeviceOutcome = { status: "SUCCEEDED" } | { status: "FAILED"; reason: string };

export interface DeviceLoopOptions {
  /** How a device answers a deployment; every deployment succeeds by default. */
  outcome?: (thing: string, deployment: PendingDeployment) => DeviceOutcome;
  /** Also report the deployment's components as RUNNING, as the nucleus's status update does. */
  reportComponents?: boolean;
}

/** A tiny nucleus: takes each pending deployment, reports IN_PROGRESS then its outcome. Returns its stop. */
export function startDeviceLoop(
  store: GreengrassStore,
  things: string[],
  { outcome = () => ({ status: "SUCCEEDED" }), reportComponents = false }: DeviceLoopOptions = {},
): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const thing of things) {
        for (const d of store.pendingDeploymentsFor(thing)) {
          await store.reportEffectiveDeployment(thing, d.deploymentId, "IN_PROGRESS");
          const result = outcome(thing, d);
          await store.reportEffectiveDeployment(
            thing,
            d.deploymentId,
            result.status,
            result.status === "FAILED" ? result.reason : undefined,
          );
          if (reportComponents)
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

export interface PipelineOptions {
  config: ReturnType<typeof pipelineConfig>["config"];
  /** Core device → the thing group it belongs to. */
  devices: Record<string, string>;
  /** Key of the ONNX model put in the `models` bucket. */
  modelKey: string;
  endpoint?: LocalEndpointOptions;
  deviceLoop?: DeviceLoopOptions;
}

export interface TestPipeline {
  ep: TestEndpoint;
  sfn: SFNClient;
  gg: GreengrassV2Client;
  /** Stop the devices, then close the endpoint. */
  dispose(): Promise<void>;
}

/**
 * The local endpoint with the edge-deployment flow wired to `config`, a model in S3, the devices
 * registered in IoT and Greengrass, and a device loop answering their deployments.
 */
export async function startPipeline(options: PipelineOptions): Promise<TestPipeline> {
  configureFlow({ autoSchedules: false, config: options.config });
  const ep = await startTestEndpoint({ discover: true, ...options.endpoint });
  const common = { endpoint: ep.url, region, credentials };
  const sfn = new SFNClient(common);
  const gg = new GreengrassV2Client(common);
  const { s3, iot } = ep.clients;
  await s3.send(new CreateBucketCommand({ Bucket: "models" }));
  await s3.send(new PutObjectCommand({ Bucket: "models", Key: options.modelKey, Body: classifierOnnx() }));
  for (const g of new Set(Object.values(options.devices)))
    await iot.send(new CreateThingGroupCommand({ thingGroupName: g }));
  const store = greengrassStoreOf(ep.url);
  for (const [thing, g] of Object.entries(options.devices)) {
    await iot.send(new CreateThingCommand({ thingName: thing }));
    await iot.send(new AddThingToThingGroupCommand({ thingName: thing, thingGroupName: g }));
    store.registerCoreDevice(thing, [g]);
  }
  const stopDevices = startDeviceLoop(store, Object.keys(options.devices), options.deviceLoop);
  return {
    ep,
    sfn,
    gg,
    async dispose() {
      await stopDevices();
      sfn.destroy();
      gg.destroy();
      await ep.dispose();
    },
  };
}

/** Creates the model package group and one ONNX package pending approval; returns the package ARN. */
async function createPendingModelPackage(
  sm: SageMakerClient,
  groupName: string,
  model: { image: string; modelDataUrl: string },
): Promise<string> {
  await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: groupName }));
  const pkg = await sm.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: groupName,
      ModelApprovalStatus: "PendingManualApproval",
      InferenceSpecification: {
        Containers: [
          {
            Image: model.image,
            ModelDataUrl: model.modelDataUrl,
            Framework: "ONNX",
            ModelInput: { DataInputConfig: '{"input":[1,16]}' },
          },
        ],
        SupportedContentTypes: ["application/json"],
        SupportedResponseMIMETypes: ["application/json"],
      },
    }),
  );
  return pkg.ModelPackageArn as string;
}

/** A new ONNX package, approved: the approval event starts the deployment. Returns the package ARN. */
export async function approveNewModelPackage(
  sm: SageMakerClient,
  groupName: string,
  model: { image: string; modelDataUrl: string },
): Promise<string> {
  const arn = await createPendingModelPackage(sm, groupName, model);
  await sm.send(new UpdateModelPackageCommand({ ModelPackageArn: arn, ModelApprovalStatus: "Approved" }));
  return arn;
}

/** Waits for the flow's first execution to start and end; returns the listing, its description and history. */
export async function awaitFirstExecution(ep: TestEndpoint, sfn: SFNClient) {
  const stateMachineArn = stateMachineArnOf({ region, accountId: "000000000000" });
  const listed = await until(
    () => sfn.send(new ListExecutionsCommand({ stateMachineArn })),
    (r) => (r.executions?.length ?? 0) > 0,
  );
  const executionArn = listed.executions?.[0]?.executionArn as string;
  await stepFunctionsEngineOf(ep.url).waitFor(executionArn);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return { listed, executionArn, described, history };
}

/** The names of the states an execution entered, in order, repeats kept. */
export function statesEntered(history: GetExecutionHistoryCommandOutput): (string | undefined)[] {
  return (history.events ?? [])
    .filter((e) => e.type?.endsWith("StateEntered"))
    .map((e) => e.stateEnteredEventDetails?.name);
}
