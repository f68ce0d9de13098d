import { parseArgs } from "node:util";
import { constraintsJson, statisticsJson } from "../functions/drift/baseline.ts";
import { writeBaselineDir } from "../functions/drift/local-files.ts";
import { profileSample, type SampleFormat } from "../functions/drift/sample.ts";

const HELP = `usage: edge-mlops baseline --input <file> --out <dir> [--format csv|jsonl|capture]

Writes Model Monitor statistics.json and constraints.json for a sample: CSV with a header row,
JSON Lines of objects, or Edge Manager capture files (plain or gzip). The format is detected
from the content unless --format is given.`;

/** `edge-mlops baseline`: 0 on success, 1 on usage or I/O errors (one line on stderr). */
export async function run(argv: string[]): Promise<number> {
  let values: { input?: string; out?: string; format?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        input: { type: "string" },
        out: { type: "string" },
        format: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`edge-mlops baseline: ${(err as Error).message}\n${HELP}\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.input === undefined || values.out === undefined) {
    process.stderr.write(`edge-mlops baseline: --input and --out are required\n${HELP}\n`);
    return 1;
  }
  if (values.format !== undefined && !["csv", "jsonl", "capture"].includes(values.format)) {
    process.stderr.write(`edge-mlops baseline: --format must be csv, jsonl or capture\n`);
    return 1;
  }
  try {
    const sample = await profileSample(values.input, values.format as SampleFormat | undefined);
    await writeBaselineDir(
      values.out,
      statisticsJson(sample.features, sample.records),
      constraintsJson(sample.features, sample.records),
    );
    process.stdout.write(
      `baseline: ${sample.records} ${sample.format} records, ${sample.features.length} features → ${values.out}/statistics.json, constraints.json` +
        `${sample.skipped.length > 0 ? ` (${sample.skipped.length} rows skipped, first: line ${sample.skipped[0]?.line}: ${sample.skipped[0]?.reason})` : ""}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`edge-mlops baseline: ${(err as Error).message}\n`);
    return 1;
  }
}
