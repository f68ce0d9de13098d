/**
 * The inference component's entry point (bundled to dist/edge/inference-runtime.mjs).
 *
 *   inference-runtime.mjs [serve] [--<setting> <value> ...]   run the component
 *   inference-runtime.mjs load --socket-path <p> --model-name <n> --model-path <dir|file> [--model-version <v>]
 *   inference-runtime.mjs unload --socket-path <p> --model-name <n>
 *   inference-runtime.mjs list|stats --socket-path <p>                       (or --port <n>)
 *
 * On a device the recipe's Setenv passes configuration as EDGE_* variables; flags override them.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { InferenceClient } from "./client.ts";
import { type CaptureOptions, type RunningInferenceRuntime, startInferenceRuntime } from "./index.ts";
import { envName, flagName, readSettings, type Settings, settingKeys, settingSpecs } from "./settings.ts";

const commands = ["serve", "load", "unload", "list", "stats"] as const;
/** How long a client command waits for the component's socket to appear. */
const CONNECT_WAIT_MS = 60_000;
type Command = (typeof commands)[number];

export function usage(): string {
  const lines = [
    "Usage: inference-runtime.mjs [serve|load|unload|list|stats] [options]",
    "",
    "serve (default) loads ModelPath, serves predictions on SocketPath (or 127.0.0.1:Port) and captures",
    "inputs and outputs; load/unload/list/stats talk to a running component on the same socket.",
    "",
    "Options (flag, environment variable, default):",
  ];
  for (const key of settingKeys) {
    const spec = settingSpecs[key];
    lines.push(`  --${flagName(key)}  ${envName(key)}  [${String(spec.default)}]`, `      ${spec.doc}`);
  }
  lines.push("  --help  this text");
  return lines.join("\n");
}

/** Capture options for startInferenceRuntime from the component's settings. */
export function captureOptionsFrom(settings: Settings): CaptureOptions | false {
  if (!settings.CaptureData) return false;
  return {
    deviceFleetName: settings.DeviceFleetName,
    deviceId: settings.DeviceId,
    destination: settings.CaptureDataDestination as "Cloud" | "Disk",
    bucketName: settings.BucketName,
    diskPath: resolve(settings.CaptureDataDiskPath),
    folderPrefix: settings.FolderPrefix,
    samplingPercentage: settings.CaptureDataSamplingPercentage,
    bufferSize: settings.CaptureDataBufferSize,
    batchSize: settings.CaptureDataBatchSize,
    pushPeriodSeconds: settings.CaptureDataPushPeriodSeconds,
    base64EmbedLimit: settings.CaptureDataBase64EmbedLimit,
    maxUploadAttempts: settings.CaptureDataUploadMaxAttempts,
    periodicUpload: settings.CaptureDataPeriodicUpload,
    periodicUploadPeriodSeconds: settings.CaptureDataPeriodicUploadPeriodSeconds,
  };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const options = Object.fromEntries(settingKeys.map((k) => [flagName(k), { type: "string" as const }]));
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...options, help: { type: "boolean" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const command = (positionals[0] ?? "serve") as Command;
  if (!commands.includes(command)) {
    console.error(`unknown command ${command}\n\n${usage()}`);
    return 2;
  }
  const flags = values as Record<string, string | undefined>;
  if (command !== "serve") return runClientCommand(command, flags, env);

  const settings = readSettings(flags, env);
  const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);
  const running = await startInferenceRuntime({
    ...(settings.SocketPath ? { socketPath: settings.SocketPath } : { port: settings.Port }),
    models: settings.ModelPath
      ? [
          {
            name: settings.ModelName,
            path: settings.ModelPath,
            ...(settings.ModelVersion ? { version: settings.ModelVersion } : {}),
          },
        ]
      : [],
    modelUnpackRoot: resolve("models"),
    capture: captureOptionsFrom(settings),
    log,
  });
  log(
    `serving on ${running.address}; capture ${settings.CaptureData ? `to ${settings.CaptureDataDestination}` : "off"}`,
  );
  await waitForSignal(running, settings.ShutdownTimeoutSeconds * 1000, log);
  return 0;
}

/** Resolves after SIGTERM/SIGINT once buffered capture is written (or the timeout passed). */
function waitForSignal(
  running: RunningInferenceRuntime,
  timeoutMs: number,
  log: (m: string) => void,
): Promise<void> {
  return new Promise((done) => {
    const stop = async (signal: string) => {
      log(`${signal}: flushing capture and stopping`);
      const stats = await running.close(timeoutMs);
      log(`stopped: ${JSON.stringify(stats)}`);
      done();
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}

async function runClientCommand(
  command: Exclude<Command, "serve">,
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const pick = (key: "SocketPath" | "Port" | "ModelName" | "ModelPath" | "ModelVersion") =>
    flags[flagName(key)] || env[envName(key)] || "";
  const address = pick("SocketPath") || (pick("Port") ? `127.0.0.1:${pick("Port")}` : "");
  if (!address) {
    console.error(`${command} needs --${flagName("SocketPath")} or --${flagName("Port")}`);
    return 2;
  }
  const needModel = command === "load" || command === "unload";
  if (needModel && !pick("ModelName")) {
    console.error(`${command} needs --${flagName("ModelName")}`);
    return 2;
  }
  const client = await InferenceClient.connectWhenReady(address, CONNECT_WAIT_MS);
  try {
    let result: unknown;
    if (command === "load") {
      if (!pick("ModelPath")) {
        console.error(`load needs --${flagName("ModelPath")}`);
        return 2;
      }
      // A model component's lifecycle runs again on every update and restart: replace in place.
      const version = pick("ModelVersion");
      result = await client.load(pick("ModelName"), resolve(pick("ModelPath")), {
        replace: true,
        ...(version ? { version } : {}),
      });
    } else if (command === "unload") result = await client.unload(pick("ModelName"));
    else if (command === "list") result = await client.list();
    else result = await client.stats();
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } finally {
    await client.close();
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      process.exitCode = 1;
    },
  );
}
