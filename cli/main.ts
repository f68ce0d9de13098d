import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A subcommand: parses its own arguments, returns the process exit code. */
export interface Command {
  run(argv: string[]): Promise<number>;
}

/**
 * The command table. Modules load on use, so `edge-mlops drift` never pays for the local
 * endpoint's dependencies and vice versa. To add a command, add one entry.
 */
export const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  baseline: {
    summary: "write Model Monitor statistics.json + constraints.json from a sample",
    load: () => import("./baseline.ts"),
  },
  drift: { summary: "compare capture files with a baseline; report drift", load: () => import("./drift.ts") },
  fleet: {
    summary: "the local endpoint with a simulated Greengrass fleet, left running for the AWS CLI",
    load: () => import("./fleet.ts"),
  },
  demo: {
    summary: "the whole loop locally: approval → rollout to a simulated fleet → drift report (npm start)",
    load: () => import("./demo.ts"),
  },
  local: {
    summary: "run the local AWS endpoint (up), fire its schedules (tick), change its faults",
    load: () => import("./local.ts"),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: edge-mlops <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun edge-mlops <command> --help for a command's options.`;
}

/** Dispatches `argv` (without node and script) to a command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const entry = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (entry === undefined) {
    process.stderr.write(
      `${name === undefined ? "missing command" : `unknown command: ${name}`}\n${usage()}\n`,
    );
    return 1;
  }
  const command = await entry.load();
  return command.run(rest);
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2));
}
