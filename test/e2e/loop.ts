import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { followExecution, statesVisited } from "../../cli/demo-progress.ts";
import {
  configureLoopFlow,
  deployLoopBaseline,
  loopExecution,
  loopGroup,
  publishLoopRuntime,
  registerLoopPackage,
  startLoopFleet,
  uploadLoopModel,
} from "../../cli/demo-setup.ts";
import { INFERENCE_COMPONENT_NAME } from "../../edge/recipe.ts";
import { type LocalEndpoint, startLocalEndpoint } from "../../local/endpoint.ts";
import type { DeviceKnobs, LocalFleet } from "../../local/fleet/index.ts";
import { approve, endpointClients, type LoopClients, until } from "../../local/fleet/loop.ts";
import { greengrassStoreOf } from "../../local/greengrass/index.ts";

/** The whole local loop for one test file: endpoint, fleet, clients, baseline deployment. */
export interface Loop {
  endpoint: LocalEndpoint;
  fleet: LocalFleet;
  clients: LoopClients;
  dir: string;
  dispose(): Promise<void>;
}

export const group = loopGroup;
export const MODEL_COMPONENT = group.componentName;
export const RUNTIME_COMPONENT = INFERENCE_COMPONENT_NAME;

export async function startLoop(options: {
  canary: number;
  fleet: number;
  knobs?: Record<string, DeviceKnobs>;
}): Promise<Loop> {
  configureLoopFlow("ERROR");
  const dir = await mkdtemp(join(tmpdir(), "edge-mlops-e2e-"));
  const endpoint = await startLocalEndpoint({ port: 0, stateDir: dir, reset: true });
  const fleet = await startLoopFleet(endpoint, { ...options, pollIntervalMs: 100 });
  const clients = endpointClients(endpoint.url, endpoint.context.region);
  // The demo's own setup steps, so these tests run what `npm start` runs.
  await publishLoopRuntime(endpoint, clients, join(dir, "build"));
  await deployLoopBaseline(clients, fleet, 20_000);
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

/**
 * Registers a model package version, approves it, follows the execution the approval starts to
 * its end and waits for the fleet to settle (no deployment left pending on any device).
 */
export async function approveNewVersion(loop: Loop): Promise<Rollout> {
  const { clients, endpoint } = loop;
  const modelDataUrl = await uploadLoopModel(clients);
  // One target and short bakes keep the run in seconds; the rest of the pipeline is as configured.
  const { packageArn, version } = await registerLoopPackage(clients, modelDataUrl, {
    "edge-mlops:targets": process.arch === "arm64" ? "linux-arm64" : "linux-x86-64",
    "edge-mlops:stage.canary.bakeSeconds": "1",
    "edge-mlops:stage.fleet.bakeSeconds": "1",
  });
  await approve(clients.sagemaker, packageArn);
  const executionArn = await loopExecution(endpoint, clients, version);
  const outcome = await followExecution(clients.sfn, executionArn, { timeoutMs: 40_000, pollMs: 200 });
  await fleetSettled(loop);
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
async function fleetSettled(loop: Loop): Promise<void> {
  const store = greengrassStoreOf(loop.endpoint.url);
  await until(
    "devices settled",
    async () => loop.fleet.devices.every((d) => store.pendingDeploymentsFor(d.thingName).length === 0),
    Boolean,
    15_000,
  );
}
