import { parseArgs } from "node:util";
import type { FaultConfig } from "../local/faults.ts";

const help = `usage: edge-mlops local <up|tick|faults> [options]

  up       serve the local AWS endpoint until Ctrl-C
             --port N          default 4566 (0: any free port)
             --state-dir DIR   default .edge-mlops
             --reset           delete the state dir first
             --time-scale X    wall seconds per clock second (default 0.02; 0 = instant waits)
             --throttle S=P    throttle service S (SigV4 name, S:Operation, or *) with probability P; repeatable
             --latency S=MS    add MS milliseconds to each request of S; repeatable
             --fail-jobs RE    compilation/packaging jobs whose names match RE end FAILED
             --bucket NAME     create a bucket at start; repeatable
             --region R        region in ARNs (default us-east-1)
  tick     run the schedules now on a running endpoint
             --port N  --schedule NAME  --advance SECONDS (move the clock forward first)
  faults   show or replace the fault configuration of a running endpoint
             --port N  --throttle S=P  --latency S=MS  --fail-jobs RE  --clear`;

/** Thrown for command-line input that cannot be used; the message is printed as is. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function pairs(values: string[] | undefined, flag: string): Record<string, number> | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, number> = {};
  for (const v of values) {
    const i = v.lastIndexOf("=");
    const value = Number(v.slice(i + 1));
    if (i <= 0 || !Number.isFinite(value)) throw new UsageError(`--${flag} takes SERVICE=NUMBER, got "${v}"`);
    out[v.slice(0, i)] = value;
  }
  return out;
}

function faultsFrom(values: { throttle?: string[]; latency?: string[]; "fail-jobs"?: string }): FaultConfig {
  const throttle = pairs(values.throttle, "throttle");
  const latencyMs = pairs(values.latency, "latency");
  return {
    ...(throttle ? { throttle } : {}),
    ...(latencyMs ? { latencyMs } : {}),
    ...(values["fail-jobs"] ? { failJobs: [{ pattern: values["fail-jobs"] }] } : {}),
  };
}

function port(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--port must be an integer 0–65535, got "${value}"`);
  return n;
}

const faultOptions = {
  throttle: { type: "string", multiple: true },
  latency: { type: "string", multiple: true },
  "fail-jobs": { type: "string" },
} as const;

async function up(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      "state-dir": { type: "string" },
      reset: { type: "boolean" },
      "time-scale": { type: "string" },
      bucket: { type: "string", multiple: true },
      region: { type: "string" },
      ...faultOptions,
    },
  });
  const timeScale = values["time-scale"] === undefined ? undefined : Number(values["time-scale"]);
  if (timeScale !== undefined && !(timeScale >= 0))
    throw new UsageError(`--time-scale must be a number >= 0, got "${values["time-scale"]}"`);
  const { startLocalEndpoint } = await import("../local/endpoint.ts");
  const endpoint = await startLocalEndpoint({
    port: port(values.port, 4566),
    ...(values["state-dir"] ? { stateDir: values["state-dir"] } : {}),
    reset: Boolean(values.reset),
    ...(timeScale === undefined ? {} : { timeScale }),
    faults: faultsFrom(values),
    ...(values.bucket ? { buckets: values.bucket } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(process.env.EDGE_MLOPS_CREDENTIALS_TOKEN
      ? { credentialsToken: process.env.EDGE_MLOPS_CREDENTIALS_TOKEN }
      : {}),
  });
  process.stderr.write(
    `serving ${endpoint.router.served().join(", ")}; state in ${endpoint.stateDir}\n` +
      `token exchange: ${endpoint.credentials.fullUri} (token from EDGE_MLOPS_CREDENTIALS_TOKEN${process.env.EDGE_MLOPS_CREDENTIALS_TOKEN ? "" : ", generated for this run"})\n`,
  );
  process.stdout.write(`ready ${endpoint.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.stderr.write(`${signal}: stopping, saving state\n`);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await endpoint.close();
  return 0;
}

async function admin(portNumber: number, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = `http://127.0.0.1:${portNumber}/_edge-mlops/${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new UsageError(
      `no local endpoint answers at 127.0.0.1:${portNumber} (${(error as Error).message}); start it with: edge-mlops local up`,
    );
  }
  const json = (await response.json().catch(() => ({}))) as { message?: string };
  if (!response.ok)
    throw new UsageError(`${method} ${path} failed (${response.status}): ${json.message ?? "no message"}`);
  return json;
}

async function tick(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" }, schedule: { type: "string" }, advance: { type: "string" } },
  });
  const p = port(values.port, 4566);
  if (values.advance !== undefined) {
    const seconds = Number(values.advance);
    if (!(seconds >= 0))
      throw new UsageError(`--advance must be a number of seconds >= 0, got "${values.advance}"`);
    process.stdout.write(`${JSON.stringify(await admin(p, "POST", "clock/advance", { seconds }))}\n`);
  }
  process.stdout.write(
    `${JSON.stringify(await admin(p, "POST", "tick", values.schedule ? { schedule: values.schedule } : {}), null, 2)}\n`,
  );
  return 0;
}

async function faults(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" }, clear: { type: "boolean" }, ...faultOptions },
  });
  const p = port(values.port, 4566);
  const change = faultsFrom(values);
  const result =
    values.clear || Object.keys(change).length > 0
      ? await admin(p, "POST", "faults", change)
      : await admin(p, "GET", "faults");
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

/**
 * `edge-mlops local …`: serve the local AWS endpoint, fire its schedules, change its faults.
 * @example await run(["up", "--port", "4566", "--time-scale", "0.02"])
 */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "up":
        return await up(rest);
      case "tick":
        return await tick(rest);
      case "faults":
        return await faults(rest);
      case undefined:
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(`${help}\n`);
        return sub === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown subcommand "${sub}"\n${help}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`edge-mlops local: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}
