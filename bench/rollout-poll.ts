/**
 * API calls one CheckRollout poll makes, with 10 and with 10,000 devices in the stage's IoT job.
 * Fleet progress comes from the deployment's IoT job counts (DescribeJob process details), so
 * the number must not depend on the fleet size.
 *
 *   npm run bench:poll [-- --sizes 10,10000 --polls 5]
 *
 * Each size gets a fresh local endpoint: N things in thing group "fleet", one Greengrass
 * deployment to the group (its IoT job has N executions), executions moved to a mix of
 * statuses, then `checkRollout` (the domain function the CheckRollout Lambda runs) with SDK
 * clients pointed at the endpoint. Calls are counted twice: by SDK middleware on the clients
 * and by the endpoint's own request log. The devices exist only as job executions: no
 * components run. Exits 1 when the counts differ between sizes.
 */
import "../local/polyfills.ts";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
  GreengrassV2Client,
} from "@aws-sdk/client-greengrassv2";
import { IoTClient } from "@aws-sdk/client-iot";
import edgeConfig from "../edge-mlops.config.ts";
import type { DeploymentPlan, RolloutState } from "../functions/deployment/plan.ts";
import { checkRollout } from "../functions/deployment/rollout.ts";
import { startLocalEndpoint } from "../local/endpoint.ts";
import { until } from "../local/fleet/loop.ts";
import { JsonState } from "../local/server/state.ts";
import { configureFlow } from "../local/wiring.ts";

const configuredGroup = edgeConfig.groups[0];
const configuredStage = configuredGroup?.stages.find((s) => s.name === "fleet");
if (!configuredGroup || !configuredStage)
  throw new Error("edge-mlops.config.ts needs a group with a stage named fleet");
const group = configuredGroup;
const stage = configuredStage;

interface PollCount {
  devices: number;
  polls: number;
  /** Commands per poll as the SDK clients sent them (middleware), e.g. { GetDeploymentCommand: 1 }. */
  sdkCalls: Record<string, number>;
  /** Requests per poll as the endpoint logged them (service:operation). */
  endpointRequests: Record<string, number>;
  callsPerPoll: number;
  /** What the poll read: the job's counts, proof the executions were there. */
  counts: unknown;
  msPerPoll: number;
  setupSeconds: number;
}

type Countable = { middlewareStack: { add(mw: unknown, opts: unknown): void } };

function countCalls(client: Countable, into: Map<string, number>) {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const name = context.commandName ?? "unknown";
        into.set(name, (into.get(name) ?? 0) + 1);
        return next(args);
      },
    { step: "initialize", name: "countCalls" },
  );
}

const perPoll = (m: Map<string, number>, polls: number) =>
  Object.fromEntries([...m].sort().map(([k, v]) => [k, v / polls]));

async function measure(devices: number, polls: number): Promise<PollCount> {
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "edge-mlops-bench-poll-"));
  const endpoint = await startLocalEndpoint({ port: 0, stateDir: dir, timeScale: 0 });
  const credentials = { accessKeyId: "bench", secretAccessKey: "bench" };
  const common = { endpoint: endpoint.url, region: endpoint.context.region, credentials, maxAttempts: 1 };
  const greengrass = new GreengrassV2Client(common);
  const iot = new IoTClient(common);
  // Persisting the registry after each of 20,000 registrations would time the state file, not the
  // poll: writes are held while seeding and the state is written once when the endpoint closes.
  const save = JsonState.prototype.save;
  JsonState.prototype.save = () => {};
  try {
    const things = endpoint.iot.things;
    const groupName = stage.targetArn.slice(stage.targetArn.lastIndexOf("/") + 1);
    things.createGroup(groupName, {});
    const names = Array.from({ length: devices }, (_, i) => `edge-device-${String(i + 1).padStart(5, "0")}`);
    for (const name of names) {
      things.createThing(name, {});
      things.addThing(groupName, name);
    }
    const recipe = {
      RecipeFormatVersion: "2020-01-25",
      ComponentName: group.componentName,
      ComponentVersion: "1.0.1",
      Manifests: [{ Platform: { os: "linux" } }],
    };
    const component = await greengrass.send(
      new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(recipe)) }),
    );
    await until(
      "component deployable",
      () => greengrass.send(new DescribeComponentCommand({ arn: component.arn })),
      (d) => d.status?.componentState === "DEPLOYABLE",
      10_000,
      10,
    );
    const deployment = await greengrass.send(
      new CreateDeploymentCommand({
        targetArn: stage.targetArn,
        components: { [group.componentName]: { componentVersion: "1.0.1" } },
      }),
    );
    const jobId = (await endpoint.iot.jobs.describe(deployment.iotJobId as string))
      ? (deployment.iotJobId as string)
      : undefined;
    if (!jobId) throw new Error("the deployment has no IoT job");
    // 90% succeeded, 1% failed, 5% in progress, the rest still queued.
    for (const [i, name] of names.entries()) {
      const share = i / devices;
      if (share < 0.9) await endpoint.iot.jobs.updateExecution(jobId, name, "SUCCEEDED");
      else if (share < 0.91) await endpoint.iot.jobs.updateExecution(jobId, name, "FAILED");
      else if (share < 0.96) await endpoint.iot.jobs.updateExecution(jobId, name, "IN_PROGRESS");
    }
    JsonState.prototype.save = save;
    const setupSeconds = (Date.now() - t0) / 1000;

    const sdkCalls = new Map<string, number>();
    countCalls(greengrass as unknown as Countable, sdkCalls);
    countCalls(iot as unknown as Countable, sdkCalls);
    const before = new Map(endpoint.router.requests);
    const plan = benchPlan();
    let rollout: RolloutState = {
      index: 1,
      done: false,
      touched: [],
      completed: [],
      current: {
        stageIndex: 1,
        stageName: stage.name,
        deploymentId: deployment.deploymentId as string,
        startedAt: new Date().toISOString(),
        polls: 0,
        status: "IN_PROGRESS",
      },
    };
    const p0 = performance.now();
    for (let i = 0; i < polls; i++) rollout = await checkRollout({ plan, rollout }, { greengrass, iot });
    const msPerPoll = (performance.now() - p0) / polls;
    const endpointRequests = new Map<string, number>();
    for (const [key, n] of endpoint.router.requests) {
      const added = n - (before.get(key) ?? 0);
      if (added > 0) endpointRequests.set(key, added);
    }
    return {
      devices,
      polls,
      sdkCalls: perPoll(sdkCalls, polls),
      endpointRequests: perPoll(endpointRequests, polls),
      callsPerPoll: [...sdkCalls.values()].reduce((a, b) => a + b, 0) / polls,
      counts: rollout.current?.counts,
      msPerPoll: Math.round(msPerPoll * 10) / 10,
      setupSeconds: Math.round(setupSeconds * 10) / 10,
    };
  } finally {
    JsonState.prototype.save = save;
    greengrass.destroy();
    iot.destroy();
    await endpoint.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The plan CheckRollout gets from the earlier states; only the stages matter to a poll. */
function benchPlan(): DeploymentPlan {
  const g = group;
  return {
    executionName: "bench-rollout-poll",
    trigger: "manual",
    forced: false,
    modelPackageArn: `arn:aws:sagemaker:us-east-1:000000000000:model-package/${g.modelPackageGroupName}/1`,
    modelPackageGroupName: g.modelPackageGroupName,
    modelPackageVersion: 1,
    approvalStatus: "Approved",
    compileFromPackage: true,
    componentName: g.componentName,
    componentVersion: "1.0.1",
    inferenceComponentName: g.inferenceComponentName,
    inferenceComponentVersionRequirement: g.inferenceComponentVersionRequirement,
    packagingStrategy: g.packagingStrategy,
    compilationTimeoutSeconds: 900,
    targets: [],
    // A long bake keeps every poll a full poll (the gate never passes during the bench).
    stages: g.stages.map((s) => ({ ...s, bakeSeconds: 86_400 })),
    poll: {
      compilation: { seconds: 30, maxPolls: 60 },
      packaging: { seconds: 15, maxPolls: 60 },
      rollout: { seconds: 30 },
    },
  };
}

const { values } = parseArgs({ options: { sizes: { type: "string" }, polls: { type: "string" } } });
const sizes = (values.sizes ?? "10,10000").split(",").map(Number);
const polls = Number(values.polls ?? 5);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(polls >= 1)) {
  console.error("usage: tsx bench/rollout-poll.ts [--sizes 10,10000] [--polls 5]");
  process.exit(2);
}
configureFlow({ autoSchedules: false });
const results: PollCount[] = [];
for (const n of sizes) {
  const r = await measure(n, polls);
  results.push(r);
  console.log(
    `${String(n).padStart(6)} devices: ${r.callsPerPoll} API calls per poll ${JSON.stringify(r.sdkCalls)}; endpoint saw ${JSON.stringify(r.endpointRequests)}; ${r.msPerPoll} ms per poll; counts ${JSON.stringify(r.counts)} (setup ${r.setupSeconds} s)`,
  );
}
const out = join(fileURLToPath(new URL(".", import.meta.url)), "out");
await mkdir(out, { recursive: true });
await writeFile(
  join(out, "rollout-poll.json"),
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);
const same = results.every(
  (r) =>
    JSON.stringify(r.sdkCalls) === JSON.stringify(results[0]?.sdkCalls) &&
    JSON.stringify(r.endpointRequests) === JSON.stringify(results[0]?.endpointRequests),
);
console.log(
  same
    ? "equal: the poll costs the same whatever the fleet size"
    : "NOT EQUAL: the poll cost depends on the fleet size",
);
process.exitCode = same ? 0 : 1;
