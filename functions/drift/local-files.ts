import { createReadStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Baseline, readBaseline } from "./baseline.ts";
import { BaselineError, CaptureReadError } from "./errors.ts";
import type { ConstraintsJson, StatisticsJson } from "./monitor-format.ts";
import { Profile } from "./profile.ts";
import { type ReadCounts, type ReadOptions, readCapture } from "./reader.ts";
import type { QuarantineEntry } from "./record.ts";

/** Reads `<dir>/statistics.json` and `<dir>/constraints.json`. */
export async function loadBaselineDir(dir: string): Promise<Baseline> {
  const read = async (name: string) => {
    const path = join(dir, name);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new BaselineError(
        `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new BaselineError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  };
  return readBaseline(await read("statistics.json"), await read("constraints.json"));
}

export async function writeBaselineDir(
  dir: string,
  statistics: StatisticsJson,
  constraints: ConstraintsJson,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "statistics.json"), `${JSON.stringify(statistics, null, 2)}\n`);
  await writeFile(join(dir, "constraints.json"), `${JSON.stringify(constraints, null, 2)}\n`);
}

export interface FilesAnalysis {
  profile: Profile;
  /** Quarantined records, capped at `maxQuarantine` (counts in profile.records stay exact). */
  quarantine: QuarantineEntry[];
}

/**
 * Profiles local capture files one after another (bounded memory whatever their number and size).
 * @example const { profile, quarantine } = await analyzeFiles(["a.jsonl", "b.jsonl.gz"]);
 */
export async function analyzeFiles(
  paths: readonly string[],
  options: ReadOptions & {
    maxQuarantine?: number;
    onFileDone?: (path: string, counts: ReadCounts) => void;
  } = {},
): Promise<FilesAnalysis> {
  const profile = new Profile();
  const quarantine: QuarantineEntry[] = [];
  const max = options.maxQuarantine ?? 100_000;
  for (const path of paths) {
    const stream = createReadStream(path, { highWaterMark: 1 << 18 });
    const opened = new Promise<void>((resolve, reject) => {
      stream.once("open", () => resolve());
      stream.once("error", reject);
    });
    try {
      await opened;
    } catch (err) {
      throw new CaptureReadError(
        `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
    const counts = await readCapture(
      stream,
      path,
      profile.consumer((q) => {
        if (quarantine.length < max) quarantine.push(q);
      }),
      options,
    );
    profile.addCounts(counts);
    profile.sources.push(path);
    options.onFileDone?.(path, counts);
  }
  return { profile, quarantine };
}
