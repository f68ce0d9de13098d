/**
 * How `npm start` sets the loop up — flow, fleet, inference runtime, baseline, model, package,
 * execution — in one place, so the end-to-end tests drive the same setup the demo runs.
 */
import { fileURLToPath } from "node:url";
import { INFERENCE_COMPONENT_NAME } from "../edge/recipe.ts";
import edgeConfig from "../edge-mlops.config.ts";
import type { LocalEndpoint } from "../local/endpoint.ts";
import { type DeviceKnobs, type LocalFleet, startLocalFleet } from "../local/fleet/index.ts";
import {
  deployBaseline,
  exampleModelFile,
  executionFor,
  type LoopClients,
  publishInferenceComponent,
  registerModelPackage,
  until,
  uploadModel,
} from "../local/fleet/loop.ts";
import { configureFlow, localResources, stateMachineArnOf } from "../local/wiring.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** The model group the loop deploys: the first in edge-mlops.config.ts (the demo checks it exists). */
export const loopGroup = edgeConfig.groups[0] as NonNullable<(typeof edgeConfig.groups)[0]>;

/**
 * Wires the flow for a loop run. Schedules fire only when the run ticks them, so a run is the same
 * every time; handlers log JSON for CloudWatch, on a terminal only `logLevel` and above is worth a line.
 */
export function configureLoopFlow(logLevel: "WARN" | "ERROR"): void {
  configureFlow({
    autoSchedules: false,
    environment: { POWERTOOLS_LOG_LEVEL: logLevel, POWERTOOLS_METRICS_DISABLED: "true" },
  });
}

/** A simulated fleet of `canary` + `fleet` devices in the thing groups of those names. */
export function startLoopFleet(
  endpoint: LocalEndpoint,
  options: { canary: number; fleet: number; pollIntervalMs: number; knobs?: Record<string, DeviceKnobs> },
): Promise<LocalFleet> {
  return startLocalFleet(endpoint, {
    groups: [
      { name: "canary", size: options.canary },
      { name: "fleet", size: options.fleet },
    ],
    ...(options.knobs ? { knobs: options.knobs } : {}),
    pollIntervalMs: options.pollIntervalMs,
  });
}

/** Bundles and publishes the inference component 1.0.0, capturing to the project's capture bucket. */
export function publishLoopRuntime(endpoint: LocalEndpoint, clients: LoopClients, buildDir: string) {
  const { region, accountId } = endpoint.context;
  return publishInferenceComponent(clients, {
    version: "1.0.0",
    bucket: localResources.artifactBucket,
    buildDir,
    accountId,
    region,
    configuration: {
      DeviceFleetName: loopGroup.modelPackageGroupName,
      BucketName: localResources.captureBucket,
      FolderPrefix: edgeConfig.capturePrefix,
      // Traffic comes in bursts here: a large buffer keeps every record, a short push period writes them promptly.
      CaptureDataBufferSize: 5000,
      CaptureDataBatchSize: 100,
      CaptureDataPushPeriodSeconds: 1,
    },
  });
}

/** Deploys the inference runtime alone to every stage's target and waits until every device runs it. */
export async function deployLoopBaseline(
  clients: LoopClients,
  fleet: LocalFleet,
  timeoutMs: number,
): Promise<void> {
  await deployBaseline(
    clients.greengrass,
    loopGroup.stages.map((s) => s.targetArn),
    { [INFERENCE_COMPONENT_NAME]: { componentVersion: "1.0.0" } },
  );
  await until(
    "devices installing the baseline",
    async () => fleet.devices.filter((d) => d.components().get(INFERENCE_COMPONENT_NAME) === "1.0.0").length,
    (n) => n === fleet.devices.length,
    timeoutMs,
  );
}

/** Uploads the example classifier to the artifact bucket; returns its s3:// URL. */
export function uploadLoopModel(clients: LoopClients): Promise<string> {
  return uploadModel(
    clients.s3,
    localResources.artifactBucket,
    `models/${loopGroup.modelPackageGroupName}/classifier.onnx`,
    exampleModelFile(repoRoot),
  );
}

/** Registers a package version of the example model (PendingManualApproval) with `metadata`. */
export async function registerLoopPackage(
  clients: LoopClients,
  modelDataUrl: string,
  metadata: Record<string, string>,
): Promise<{ packageArn: string; version: number }> {
  const packageArn = await registerModelPackage(clients.sagemaker, {
    groupName: loopGroup.modelPackageGroupName,
    modelDataUrl,
    dataInputConfig: '{"input":[1,16]}',
    metadata,
  });
  return { packageArn, version: Number(packageArn.slice(packageArn.lastIndexOf("/") + 1)) };
}

/** The execution the approval of package `version` started. */
export const loopExecution = (endpoint: LocalEndpoint, clients: LoopClients, version: number) =>
  executionFor(clients.sfn, stateMachineArnOf(endpoint.context), loopGroup.modelPackageGroupName, version);
