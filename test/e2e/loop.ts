import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { followExecution, statesVisited } from "../../cli/demo-progress.ts";
import { INFERENCE_COMPONENT_NAME } from "../../edge/recipe.ts";
import edgeConfig from "../../edge-mlops.config.ts";
import { type LocalEndpoint, startLocalEndpoint } from "../../local/endpoint.ts";
import { type DeviceKnobs, type LocalFleet, startLocalFleet } from "../../local/fleet/index.ts";
import {
  approve,
  deployBaseline,
  endpointClients,
  exampleModelFile,
  executionFor,
  type LoopClients,
  publishInferenceComponent,
  registerModelPackage,
  until,
  uploadModel,
} from "../../local/fleet/loop.ts";
import { greengrassStoreOf } from "../../local/greengrass/index.ts";
import { configureFlow, localResources, stateMachineArnOf } from "../../local/wiring.ts";

/** The whole local loop for one test file: endpoint, fleet, clients, baseline deployment. */
export interface Loop {
  endpoint: LocalEndpoint;
  fleet: LocalFleet;
  clients: LoopClients;
  dir: string;
  dispose(): Promise<void>;
}

export const group = edgeConfig.groups[0] as NonNullable<(typeof edgeConfig.groups)[0]>;
export const MODEL_COMPONENT = group.componentName;
export const RUNTIME_COMPONENT = INFERENCE_COMPONENT_NAME;
const repoRoot = join(import.meta.dirname, "..", "..");

export async function startLoop(options: {
  canary: number;
  fleet: number;
  knobs?: Record<string, DeviceKnobs>;
}): Promise<Loop> {
  configureFlow({
    autoSchedules: false,
    environment: { POWERTOOLS_LOG_LEVEL: "ERROR", POWERTOOLS_METRICS_DISABLED: "true" },
  });
  const dir = await mkdtemp(join(tmpdir(), "edge-mlops-e2e-"));
  const endpoint = await startLocalEndpoint({ port: 0, stateDir: dir, reset: true });
  const fleet = await startLocalFleet(endpoint, {
    groups: [
      { name: "canary", size: options.canary },
      { name: "fleet", size: options.fleet },
    ],
    ...(options.knobs ? { knobs: options.knobs } : {}),
    pollIntervalMs: 100,
  });
  const clients = endpointClients(endpoint.url, endpoint.context.region);
  await publishInferenceComponent(clients, {
    version: "1.0.0",
    bucket: localResources.artifactBucket,
    buildDir: join(dir, "build"),
    accountId: endpoint.context.accountId,
    region: endpoint.context.region,
    configuration: {
      DeviceFleetName: group.modelPackageGroupName,
      BucketName: localResources.captureBucket,
      FolderPrefix: edgeConfig.capturePrefix,
      CaptureDataBufferSize: 5000,
      CaptureDataBatchSize: 100,
      CaptureDataPushPeriodSeconds: 1,
    },
  });
  await deployBaseline(
    clients.greengrass,
    group.stages.map((s) => s.targetArn),
    { [RUNTIME_COMPONENT]: { componentVersion: "1.0.0" } },
  );
  await until(
    "baseline on every device",
    async () => fleet.devices.every((d) => d.components().get(RUNTIME_COMPONENT) === "1.0.0"),
    Boolean,
    20_000,
  );
  return {
    endpoint,
    fleet,
    clients,
    dir,
    async dispose() {
      clients.destroy();
      await fleet.stop();
      await endpoint.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Rollout {
  packageArn: string;
  version: number;
  executionArn: string;
  status: string;
  events: HistoryEvent[];
  states: string[];
}

/** Registers a model package version, approves it and follows the execution the approval starts. */
export async function approveNewVersion(loop: Loop): Promise<Rollout> {
  const { clients, endpoint } = loop;
  const modelDataUrl = await uploadModel(
    clients.s3,
    localResources.artifactBucket,
    `models/${group.modelPackageGroupName}/classifier.onnx`,
    exampleModelFile(repoRoot),
  );
  const packageArn = await registerModelPackage(clients.sagemaker, {
    groupName: group.modelPackageGroupName,
    modelDataUrl,
    dataInputConfig: '{"input":[1,16]}',
    // One target and short bakes keep the run in seconds; the rest of the pipeline is as configured.
    metadata: {
      "edge-mlops:targets": process.arch === "arm64" ? "linux-arm64" : "linux-x86-64",
      "edge-mlops:stage.canary.bakeSeconds": "1",
      "edge-mlops:stage.fleet.bakeSeconds": "1",
    },
  });
  const version = Number(packageArn.slice(packageArn.lastIndexOf("/") + 1));
  await approve(clients.sagemaker, packageArn);
  const executionArn = await executionFor(
    clients.sfn,
    stateMachineArnOf(endpoint.context),
    group.modelPackageGroupName,
    version,
  );
  const outcome = await followExecution(clients.sfn, executionArn, { timeoutMs: 40_000, pollMs: 200 });
  return {
    packageArn,
    version,
    executionArn,
    status: outcome.status,
    events: outcome.events,
    states: statesVisited(outcome.events),
  };
}

/** Waits until no device has a deployment left to handle (the store has nothing pending for any). */
export async function fleetSettled(loop: Loop): Promise<void> {
  const store = greengrassStoreOf(loop.endpoint.url);
  await until(
    "devices settled",
    async () => loop.fleet.devices.every((d) => store.pendingDeploymentsFor(d.thingName).length === 0),
    Boolean,
    15_000,
  );
}
