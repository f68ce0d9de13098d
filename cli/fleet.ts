/**
 * `edge-mlops fleet`: the local endpoint with a simulated fleet attached, left running so a
 * model package can be registered and approved by hand (AWS CLI, SDK) and the devices watched.
 * Unlike `npm start` it keeps its state dir (default `.edge-mlops`) unless `--reset` is given.
 */
import "../local/polyfills.ts";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { INFERENCE_COMPONENT_NAME } from "../edge/recipe.ts";
import edgeConfig from "../edge-mlops.config.ts";
import { startLocalEndpoint } from "../local/endpoint.ts";
import { startLocalFleet } from "../local/fleet/index.ts";
import { deployBaseline, endpointClients, publishInferenceComponent } from "../local/fleet/loop.ts";
import { configureFlow, localResources } from "../local/wiring.ts";

const HELP = `usage: edge-mlops fleet [--canary N] [--fleet N] [--port N] [--state-dir DIR] [--reset]

Starts the local endpoint (default port 4566, state in .edge-mlops) and a simulated Greengrass
fleet (default 2 canary + 8 fleet devices), publishes the inference component and gives each
group its baseline deployment when it has none, then prints every change of a device's
components until Ctrl-C. Approve a model package with the AWS CLI to watch a rollout.`;

const whole = (name: string, raw: string | undefined, fallback: number) => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number ≥ 0, got "${raw}"`);
  return n;
};

export async function run(argv: string[]): Promise<number> {
  let options: { canary: number; fleet: number; port: number; stateDir: string; reset: boolean };
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        canary: { type: "string" },
        fleet: { type: "string" },
        port: { type: "string" },
        "state-dir": { type: "string" },
        reset: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    options = {
      canary: whole("canary", values.canary, 2),
      fleet: whole("fleet", values.fleet, 8),
      port: whole("port", values.port, 4566),
      stateDir: resolve(values["state-dir"] ?? ".edge-mlops"),
      reset: Boolean(values.reset),
    };
  } catch (error) {
    process.stderr.write(`edge-mlops fleet: ${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  configureFlow({ environment: { POWERTOOLS_LOG_LEVEL: "WARN", POWERTOOLS_METRICS_DISABLED: "true" } });
  const endpoint = await startLocalEndpoint({
    port: options.port,
    stateDir: options.stateDir,
    reset: options.reset,
  });
  const clients = endpointClients(endpoint.url, endpoint.context.region);
  const fleet = await startLocalFleet(endpoint, {
    groups: [
      { name: "canary", size: options.canary },
      { name: "fleet", size: options.fleet },
    ],
    log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await publishInferenceComponent(clients, {
      version: "1.0.0",
      bucket: localResources.artifactBucket,
      buildDir: join(endpoint.stateDir, "build"),
      accountId: endpoint.context.accountId,
      region: endpoint.context.region,
      configuration: {
        DeviceFleetName: edgeConfig.groups[0]?.modelPackageGroupName ?? "default",
        BucketName: localResources.captureBucket,
        FolderPrefix: edgeConfig.capturePrefix,
      },
    });
    await deployBaseline(
      clients.greengrass,
      (edgeConfig.groups[0]?.stages ?? []).map((s) => s.targetArn),
      { [INFERENCE_COMPONENT_NAME]: { componentVersion: "1.0.0" } },
    );
    process.stdout.write(
      `ready ${endpoint.url} with ${fleet.devices.length} devices (state: ${endpoint.stateDir}); Ctrl-C stops\n`,
    );
    const seen = new Map<string, string>();
    timer = setInterval(() => {
      for (const d of fleet.devices) {
        const now = [...d.components()].map(([n, v]) => `${n}@${v}`).join(", ") || "(nothing)";
        if (seen.get(d.thingName) !== now) {
          seen.set(d.thingName, now);
          process.stdout.write(
            `${new Date().toISOString()} ${d.thingName} (${d.thingGroupNames.join(",")}): ${now}\n`,
          );
        }
      }
    }, 500);
    await new Promise<void>((done) => {
      process.once("SIGINT", () => done());
      process.once("SIGTERM", () => done());
    });
    return 0;
  } catch (error) {
    process.stderr.write(`edge-mlops fleet: ${(error as Error).message}\n`);
    return 1;
  } finally {
    if (timer) clearInterval(timer);
    clients.destroy();
    await fleet.stop();
    await endpoint.close();
  }
}
