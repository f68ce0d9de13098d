import { parseArgs } from "node:util";
import { featureName } from "../local/fleet/drift.ts";

export const DEMO_HELP = `usage: npm start -- [options]      (or: edge-mlops demo [options])

Runs the whole loop on this machine with no AWS account: a local AWS endpoint, a simulated
Greengrass fleet running the real inference component, a model package approved into the
deployment pipeline (compile → package → canary → fleet), traffic with drift injected on a few
devices, and drift analysis with an HTML report.

options:
  --canary N             devices in thing group "canary" (default 2)
  --fleet N              devices in thing group "fleet" (default 8)
  --duration S           seconds of traffic after the rollout (default 3)
  --rate R               requests per second per device (default 100)
  --drift-feature F      feature to drift, e.g. input_3 (default input_3)
  --drift-shift K        shift in standard deviations of that feature (default 2)
  --drift-scale X        also rescale the feature about its mean (default 1)
  --drift-devices K      how many devices (the last ones of "fleet") get the drift (default 2)
  --port N               endpoint port (default: a free one)
  --state-dir DIR        endpoint state (default: a temporary folder, removed at exit); reset at start
  --fail-canary          then approve a second version whose install fails on the canary devices,
                         to watch the gate fail and the groups roll back
  --keep-running         keep endpoint and fleet up after the summary, for the AWS CLI (Ctrl-C stops)
  -h, --help             this text

exit codes: 0 the loop completed, 1 a step failed (the message says which), 2 bad options`;

export interface DemoOptions {
  canary: number;
  fleet: number;
  durationSeconds: number;
  ratePerSecond: number;
  driftFeature: string;
  driftShift: number;
  driftScale: number;
  driftDevices: number;
  port: number;
  stateDir?: string;
  keepRunning: boolean;
  failCanary: boolean;
}

/** Bad command-line options; the message names the option. */
export class DemoUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoUsageError";
  }
}

function number(
  name: string,
  raw: string | undefined,
  fallback: number,
  check: (n: number) => boolean,
  what: string,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || !check(n))
    throw new DemoUsageError(`--${name} must be ${what}, got "${raw}"`);
  return n;
}

const whole = (n: number) => Number.isInteger(n) && n >= 0;

/** Parses the demo's flags; returns undefined for --help. */
export function parseDemoArgs(argv: string[]): DemoOptions | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        canary: { type: "string" },
        fleet: { type: "string" },
        duration: { type: "string" },
        rate: { type: "string" },
        "drift-feature": { type: "string" },
        "drift-shift": { type: "string" },
        "drift-scale": { type: "string" },
        "drift-devices": { type: "string" },
        port: { type: "string" },
        "state-dir": { type: "string" },
        "keep-running": { type: "boolean" },
        "fail-canary": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new DemoUsageError((error as Error).message);
  }
  if (values.help) return undefined;
  const s = (k: string) => values[k] as string | undefined;
  const options: DemoOptions = {
    canary: number("canary", s("canary"), 2, whole, "a whole number ≥ 1"),
    fleet: number("fleet", s("fleet"), 8, whole, "a whole number ≥ 1"),
    durationSeconds: number("duration", s("duration"), 3, (n) => n > 0 && n <= 600, "seconds in (0, 600]"),
    ratePerSecond: number(
      "rate",
      s("rate"),
      100,
      (n) => n > 0 && n <= 1000,
      "requests per second in (0, 1000]",
    ),
    driftFeature: "input_3",
    driftShift: number("drift-shift", s("drift-shift"), 2, Number.isFinite, "a number"),
    driftScale: number("drift-scale", s("drift-scale"), 1, (n) => n > 0, "a number > 0"),
    driftDevices: number("drift-devices", s("drift-devices"), 2, whole, "a whole number ≥ 0"),
    port: number("port", s("port"), 0, (n) => whole(n) && n <= 65535, "a port number (0 picks a free one)"),
    keepRunning: Boolean(values["keep-running"]),
    failCanary: Boolean(values["fail-canary"]),
    ...(s("state-dir") ? { stateDir: s("state-dir") } : {}),
  };
  try {
    options.driftFeature = featureName(s("drift-feature") ?? "input_3");
  } catch (error) {
    throw new DemoUsageError(`--drift-feature: ${(error as Error).message}`);
  }
  // The pipeline's stages target both groups; an empty group never reaches its gate's threshold.
  if (options.canary < 1 || options.fleet < 1)
    throw new DemoUsageError(
      "--canary and --fleet need at least 1 device each (the rollout has a stage for each group)",
    );
  if (options.driftDevices > options.fleet + options.canary) {
    throw new DemoUsageError(
      `--drift-devices ${options.driftDevices} is more than the ${options.canary + options.fleet} devices`,
    );
  }
  return options;
}
