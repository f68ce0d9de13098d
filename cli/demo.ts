/**
 * `npm start` (`edge-mlops demo`): the whole loop on this machine — local endpoint, simulated
 * fleet, model package approval → deployment pipeline → canary → fleet, traffic with drift,
 * drift analysis, summary. See DEMO_HELP for the options.
 */
import "../local/polyfills.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { INFERENCE_COMPONENT_NAME } from "../edge/recipe.ts";
import edgeConfig from "../edge-mlops.config.ts";
import type { StageProgress } from "../functions/deployment/plan.ts";
import { type LocalEndpoint, startLocalEndpoint } from "../local/endpoint.ts";
import type { LocalFleet } from "../local/fleet/index.ts";
import { approve, endpointClients, type LoopClients, until } from "../local/fleet/loop.ts";
import { stateMachineArnOf } from "../local/wiring.ts";
import { DEMO_HELP, type DemoOptions, DemoUsageError, parseDemoArgs } from "./demo-args.ts";
import { analyzeFleetDrift, type FleetDrift } from "./demo-drift.ts";
import { followExecution, type StateTiming, stateTimings } from "./demo-progress.ts";
import {
  configureLoopFlow,
  deployLoopBaseline,
  loopExecution,
  publishLoopRuntime,
  registerLoopPackage,
  startLoopFleet,
  uploadLoopModel,
} from "./demo-setup.ts";

const group = edgeConfig.groups[0];

/** A step of the demo failed; the message says which and why. */
export class DemoStepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${message}`, options);
    this.name = "DemoStepError";
  }
}

export interface DemoResult {
  executionArn: string;
  status: string;
  timings: StateTiming[];
  devices: Array<{ thingName: string; groups: string[]; components: Record<string, string> }>;
  drift: FleetDrift;
  /** With --fail-canary: the second execution, which must fail at the canary gate and roll back. */
  failedRollout?: { executionArn: string; status: string; error?: string };
  wallSeconds: number;
}

const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
const say = (line: string) => process.stdout.write(`${stamp()} ${line}\n`);

async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    const value = await work();
    say(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return value;
  } catch (error) {
    throw error instanceof DemoStepError
      ? error
      : new DemoStepError(name, (error as Error).message, { cause: error });
  }
}

const versionsOf = (fleet: LocalFleet) =>
  fleet.devices.map((d) => ({
    thingName: d.thingName,
    groups: d.thingGroupNames,
    components: Object.fromEntries(d.components()),
  }));

/** Prints a line when a device's model version changes (what an operator watches during a rollout). */
function deviceWatcher(fleet: LocalFleet, componentName: string) {
  const seen = new Map<string, string>();
  return () => {
    const changed: string[] = [];
    for (const d of fleet.devices) {
      const v = d.components().get(componentName) ?? "-";
      if (seen.get(d.thingName) !== v) {
        if (seen.has(d.thingName)) changed.push(`${d.thingName} → ${v}`);
        seen.set(d.thingName, v);
      }
    }
    if (changed.length > 0) {
      const on = fleet.devices.filter((d) => d.components().has(componentName)).length;
      say(`  devices: ${changed.join(", ")}   (${on}/${fleet.devices.length} run ${componentName})`);
    }
  };
}

/** Prints states as they are entered, and each stage gate's device counts when they change. */
function eventPrinter() {
  let lastGate = "";
  return (event: HistoryEvent) => {
    const entered = event.stateEnteredEventDetails?.name;
    if (entered && !/^(Check|Wait|RolloutGate)/.test(entered)) say(`  → ${entered}`);
    const exited = event.stateExitedEventDetails;
    if (exited?.name === "CheckRollout" && exited.output) {
      const current = (JSON.parse(exited.output) as { rollout?: { current?: StageProgress } }).rollout
        ?.current;
      const c = current?.counts;
      if (current && c) {
        const line = `${current.stageName} gate: ${c.succeeded}/${c.total} succeeded, ${c.failed} failed, ${c.inProgress + c.queued} pending — ${current.status}${current.status === "IN_PROGRESS" && current.thresholdReachedAt ? " (threshold met, baking)" : ""}`;
        if (line !== lastGate) say(`    ${line}`);
        lastGate = line;
      }
    }
    if (event.type === "ExecutionFailed") {
      say(
        `  ✗ execution failed: ${event.executionFailedEventDetails?.error ?? ""} ${event.executionFailedEventDetails?.cause ?? ""}`,
      );
    }
  };
}

/**
 * Runs the loop against a started endpoint and fleet; throws DemoStepError on the first failure.
 * @example const result = await runDemoLoop(endpoint, fleet, clients, options);
 */
export async function runDemoLoop(
  endpoint: LocalEndpoint,
  fleet: LocalFleet,
  clients: LoopClients,
  options: DemoOptions,
): Promise<DemoResult> {
  if (!group) throw new DemoStepError("configuration", "edge-mlops.config.ts has no model group");
  await step(`inference component ${INFERENCE_COMPONENT_NAME} 1.0.0 bundled and published`, () =>
    publishLoopRuntime(endpoint, clients, join(endpoint.stateDir, "build")),
  );
  await step("baseline deployment (inference runtime only) on every group", () =>
    deployLoopBaseline(clients, fleet, 30_000),
  );

  const modelDataUrl = await uploadLoopModel(clients);
  const watch = deviceWatcher(fleet, group.componentName);
  /** Registers a package version, approves it and follows the execution the approval starts. */
  const rollout = async () => {
    const { packageArn, version } = await step("model package registered (PendingManualApproval)", () =>
      // Bakes run on the endpoint's clock (×50): the configured 5 and 10 minutes would take 6 s and
      // 12 s here, so the demo package asks for 2 and 1 minutes through its metadata.
      registerLoopPackage(clients, modelDataUrl, {
        "edge-mlops:stage.canary.bakeSeconds": "120",
        "edge-mlops:stage.fleet.bakeSeconds": "60",
      }),
    );
    say(`  ${packageArn}`);
    await approve(clients.sagemaker, packageArn);
    say("✓ model package approved (UpdateModelPackage → Model Package State Change → start-deployment)");
    const executionArn = await step("execution started by the approval event", () =>
      loopExecution(endpoint, clients, version),
    );
    say(`  ${executionArn}`);
    const outcome = await followExecution(clients.sfn, executionArn, {
      timeoutMs: 120_000,
      pollMs: 200,
      onEvent: eventPrinter(),
      onTick: watch,
    });
    watch();
    say(`${outcome.status === "SUCCEEDED" ? "✓" : "✗"} execution ${outcome.status}`);
    return { version, executionArn, outcome, timings: stateTimings(outcome.events) };
  };

  const first = await rollout();
  const { executionArn, outcome, timings } = first;
  if (outcome.status !== "SUCCEEDED") {
    printTimings(timings, endpoint.clock.timeScale);
    throw new DemoStepError(
      "deployment",
      `execution ${outcome.status}: ${outcome.error ?? ""} ${outcome.cause ?? ""}`.trim(),
    );
  }
  await until(
    "every device on the new model",
    async () => fleet.devices.filter((d) => d.components().has(group.componentName)).length,
    (n) => n === fleet.devices.length,
    15_000,
  ).catch((error: Error) => {
    throw new DemoStepError("rollout", error.message);
  });
  watch();

  let failedRollout: DemoResult["failedRollout"];
  if (options.failCanary) {
    const next = `1.0.${first.version + 1}`;
    say(`  next version ${next} will fail to install on the canary devices (--fail-canary)`);
    for (const d of fleet.devices.filter((x) => x.thingGroupNames.includes("canary"))) {
      d.knobs = { ...d.knobs, failInstall: [{ componentName: group.componentName, versions: [next] }] };
    }
    const second = await rollout();
    const states = second.outcome.events.flatMap((e) =>
      e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : [],
    );
    const previous = `1.0.${first.version}`;
    const back = fleet.devices.every((d) => d.components().get(group.componentName) === previous);
    if (second.outcome.status !== "FAILED" || !states.includes("Rollback") || !back) {
      throw new DemoStepError(
        "rollback",
        `expected the canary gate to fail and every device to stay on ${previous}; execution ${second.outcome.status}, states ${states.join(" → ")}`,
      );
    }
    say(
      `✓ canary gate failed, groups rolled back: every device still runs ${group.componentName}@${previous}`,
    );
    failedRollout = {
      executionArn: second.executionArn,
      status: second.outcome.status,
      ...(second.outcome.error ? { error: second.outcome.error } : {}),
    };
  }

  const drifted = fleet.devices.slice(fleet.devices.length - options.driftDevices);
  for (const d of drifted) {
    d.knobs = {
      ...d.knobs,
      drift: [{ feature: options.driftFeature, shiftSigmas: options.driftShift, scale: options.driftScale }],
    };
  }
  say(
    `  drift injected on ${options.driftFeature} (${options.driftShift >= 0 ? "+" : ""}${options.driftShift}σ${options.driftScale !== 1 ? `, ×${options.driftScale}` : ""}) on ${drifted.map((d) => d.thingName).join(", ") || "no device"}`,
  );
  const traffic = await step(
    `traffic: ${options.ratePerSecond} req/s per device for ${options.durationSeconds} s`,
    () =>
      fleet.traffic({
        requestsPerDevice: Math.ceil(options.ratePerSecond * options.durationSeconds),
        ratePerSecond: options.ratePerSecond,
        durationMs: options.durationSeconds * 1000 + 2000,
        seed: 7,
      }),
  );
  say(`  ${traffic.sent} predictions, ${traffic.failed} failed`);
  if (traffic.sent === 0)
    throw new DemoStepError(
      "traffic",
      `no prediction succeeded (${Object.values(traffic.perDevice).find((p) => p.lastError)?.lastError ?? "no error recorded"})`,
    );
  await step("capture written to S3", () => fleet.captureSettled(20_000));
  const drift = await step("drift analysis", () =>
    analyzeFleetDrift(endpoint, clients, { driftedDevices: drifted.map((d) => d.thingName) }),
  );
  return {
    executionArn,
    status: outcome.status,
    timings,
    devices: versionsOf(fleet),
    drift,
    ...(failedRollout ? { failedRollout } : {}),
    wallSeconds: (Date.now() - started) / 1000,
  };
}

/** History times are on the endpoint's clock, which runs 1/timeScale times faster than the wall clock. */
function printTimings(timings: StateTiming[], timeScale: number) {
  process.stdout.write(
    `\nstates (visits, time inside: endpoint clock${timeScale > 0 ? ` and wall, the clock runs ×${Math.round(1 / timeScale)}` : ""}):\n`,
  );
  for (const t of timings) {
    const clock = `${(t.totalMs / 1000).toFixed(1).padStart(7)} s`;
    const wall = timeScale > 0 ? `  ${((t.totalMs * timeScale) / 1000).toFixed(2).padStart(6)} s wall` : "";
    process.stdout.write(
      `  ${t.failed ? "✗" : "✓"} ${t.name.padEnd(24)} ${String(t.visits).padStart(3)}×  ${clock}${wall}\n`,
    );
  }
}

function printSummary(result: DemoResult, timeScale: number) {
  process.stdout.write(`\n──── summary ────\nexecution: ${result.status}  ${result.executionArn}\n`);
  printTimings(result.timings, timeScale);
  if (result.failedRollout) {
    process.stdout.write(
      `\nsecond execution (install fails on canary): ${result.failedRollout.status} ${result.failedRollout.error ?? ""}, rolled back  ${result.failedRollout.executionArn}\n`,
    );
  }
  process.stdout.write("\ndevices (group: components):\n");
  for (const d of result.devices) {
    const comps = Object.entries(d.components)
      .filter(([name]) => !name.startsWith("aws.greengrass."))
      .map(([n, v]) => `${n}@${v}`)
      .join(", ");
    process.stdout.write(`  ${d.thingName}  ${d.groups.join(",").padEnd(7)} ${comps}\n`);
  }
  const drift = result.drift;
  process.stdout.write(
    `\ndrift per feature (distance / threshold; * = drifted), ${drift.records} records:\n`,
  );
  const width = Math.max(10, ...drift.fleet.features.map((f) => f.name.length));
  const header = [
    "feature".padEnd(width),
    "fleet".padStart(14),
    ...drift.devices.map((d) => d.device.replace(/^edge-device-/, "dev-").padStart(10)),
  ];
  process.stdout.write(`  ${header.join(" ")}\n`);
  for (const f of drift.fleet.features) {
    const cell = (x: { distance: number | null; drifted: boolean } | undefined, width: number) =>
      (x?.distance === null || x?.distance === undefined
        ? "-"
        : `${x.distance.toFixed(3)}${x.drifted ? "*" : " "}`
      ).padStart(width);
    const perDevice = drift.devices.map((d) =>
      cell(
        d.features.find((g) => g.name === f.name),
        10,
      ),
    );
    process.stdout.write(
      `  ${f.name.padEnd(width)} ${`${cell(f, 7)} /${f.threshold?.toFixed(2) ?? "-"}`.padStart(14)} ${perDevice.join(" ")}\n`,
    );
  }
  const flagged = drift.fleet.features.filter((f) => f.drifted).map((f) => f.name);
  process.stdout.write(`\nfleet-level drift: ${flagged.length > 0 ? flagged.join(", ") : "none"}\n`);
  process.stdout.write(`drift result (aggregate-drift): ${drift.resultUri}\n`);
  process.stdout.write(`HTML report: ${drift.reportPath}\n`);
  process.stdout.write(`wall time: ${result.wallSeconds.toFixed(1)} s\n`);
}

/** `edge-mlops demo` / `npm start`. */
export async function run(argv: string[]): Promise<number> {
  let options: DemoOptions | undefined;
  try {
    options = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    process.stderr.write(`edge-mlops demo: ${error.message}\n\n${DEMO_HELP}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${DEMO_HELP}\n`);
    return 0;
  }
  const temporary = options.stateDir === undefined;
  const stateDir = options.stateDir
    ? resolve(options.stateDir)
    : await mkdtemp(join(tmpdir(), "edge-mlops-demo-"));
  configureLoopFlow("WARN");
  let endpoint: LocalEndpoint | undefined;
  let fleet: LocalFleet | undefined;
  let clients: LoopClients | undefined;
  let code = 1;
  try {
    endpoint = await step("local endpoint", () =>
      startLocalEndpoint({ port: options.port, stateDir, reset: true }),
    );
    say(`  ${endpoint.url}  state: ${stateDir}`);
    const ep = endpoint;
    fleet = await step(`fleet: ${options.canary} canary + ${options.fleet} fleet devices`, () =>
      startLoopFleet(ep, { canary: options.canary, fleet: options.fleet, pollIntervalMs: 200 }),
    );
    clients = endpointClients(endpoint.url, endpoint.context.region);
    const result = await runDemoLoop(endpoint, fleet, clients, options);
    printSummary(result, endpoint.clock.timeScale);
    code = 0;
    if (options.keepRunning) await keepRunning(endpoint);
  } catch (error) {
    const message =
      error instanceof DemoStepError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    process.stderr.write(`\n${stamp()} ✗ demo failed — ${message}\n`);
    if (endpoint) process.stderr.write(`  endpoint state kept for inspection: ${stateDir}\n`);
    code = 1;
  } finally {
    clients?.destroy();
    await fleet?.stop().catch(() => {});
    await endpoint?.close().catch(() => {});
    if (temporary && code === 0) await rm(stateDir, { recursive: true, force: true });
  }
  return code;
}

function keepRunning(endpoint: LocalEndpoint): Promise<void> {
  process.stdout.write(
    `\nkeeping the endpoint and fleet up: try\n  aws --endpoint-url ${endpoint.url} greengrassv2 list-core-devices\n  aws --endpoint-url ${endpoint.url} stepfunctions list-executions --state-machine-arn ${stateMachineArnOf(endpoint.context)}\nCtrl-C stops.\n`,
  );
  return new Promise((done) => {
    process.once("SIGINT", () => done());
    process.once("SIGTERM", () => done());
  });
}
