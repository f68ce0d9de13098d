import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { compareToBaseline } from "../functions/drift/compare.ts";
import { analyzeFiles, loadBaselineDir } from "../functions/drift/local-files.ts";
import { GroupProfile } from "../functions/drift/profile.ts";
import { deviceBreakdown, renderReport } from "../functions/drift/report.ts";
import { summaryJson } from "../functions/drift/result.ts";

const HELP = `usage: edge-mlops drift --baseline <dir> [--json <file>] [--html <file>] [--fail-on-drift] <capture files…>

Compares Edge Manager capture files (JSON Lines, plain or gzip) with a Model Monitor baseline
(<dir>/statistics.json and constraints.json). Unreadable records are quarantined and listed.

exit codes: 0 analysis completed (quarantined records included)
            3 --fail-on-drift and at least one constraint violation
            1 usage or I/O error`;

const fail = (message: string) => {
  process.stderr.write(`edge-mlops drift: ${message}\n`);
  return 1;
};

/** `edge-mlops drift`: see HELP for the exit codes. */
export async function run(argv: string[]): Promise<number> {
  let values: { baseline?: string; json?: string; html?: string; "fail-on-drift"?: boolean; help?: boolean };
  let files: string[];
  try {
    ({ values, positionals: files } = parseArgs({
      args: argv,
      options: {
        baseline: { type: "string" },
        json: { type: "string" },
        html: { type: "string" },
        "fail-on-drift": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    process.stderr.write(`edge-mlops drift: ${(err as Error).message}\n${HELP}\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.baseline === undefined) return fail(`--baseline <dir> is required\n${HELP}`);
  if (files.length === 0) return fail(`no capture files given\n${HELP}`);

  const progress = process.stderr.isTTY ? new Progress() : undefined;
  try {
    const baseline = await loadBaselineDir(values.baseline);
    const { profile, quarantine } = await analyzeFiles(files, {
      onProgress: progress === undefined ? undefined : (c) => progress.show(c.total),
      progressEvery: 50_000,
      onFileDone: progress === undefined ? undefined : (_, c) => progress.fileDone(c.total),
    });
    progress?.clear();
    const current = profile.rollup() ?? new GroupProfile("*", "*", "*");
    const result = compareToBaseline(baseline, current, profile.records);
    if (values.json !== undefined)
      await writeFile(values.json, `${JSON.stringify(summaryJson(result, quarantine), null, 2)}\n`);
    if (values.html !== undefined) {
      // Empty for single-device input: the report then has no device grid.
      const { devices, deviceProfiles } = deviceBreakdown(baseline, profile);
      await writeFile(
        values.html,
        await renderReport({ result, baseline, current, quarantine, devices, deviceProfiles }),
      );
    }
    const r = result.records;
    const drifted = result.features.filter((f) => f.drifted).map((f) => f.name);
    process.stdout.write(
      `records: ${r.total} total, ${r.valid} valid, ${r.quarantined} quarantined\n` +
        `features: ${result.features.length} compared, ${drifted.length} drifted${drifted.length > 0 ? ` (${drifted.join(", ")})` : ""}\n` +
        `violations: ${result.violations.length}\n`,
    );
    return values["fail-on-drift"] && result.violations.length > 0 ? 3 : 0;
  } catch (err) {
    progress?.clear();
    return fail((err as Error).message.split("\n")[0] ?? "failed");
  }
}

/** One self-overwriting line on stderr; only used on a TTY so logs and pipes stay clean. */
class Progress {
  private files = 0;
  private readonly started = Date.now();
  private before = 0;

  show(records: number): void {
    const secs = (Date.now() - this.started) / 1000;
    const total = this.before + records;
    process.stderr.write(
      `\r${total.toLocaleString("en")} records · ${this.files} files done · ${Math.round(total / Math.max(secs, 0.001)).toLocaleString("en")} rec/s `,
    );
  }

  fileDone(records: number): void {
    this.files++;
    this.before += records;
  }

  clear(): void {
    process.stderr.write("\r\x1b[2K");
  }
}
