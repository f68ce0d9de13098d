/**
 * `npm run bench:drift`: generates a synthetic capture set (16 float32 inputs, 3 float32 outputs per
 * record) in a temp dir, then measures in separate processes:
 *   - the full analysis (read, fast/strict parse, decode, profile with KLL sketches, compare to a baseline)
 *   - the floor (read + JSON.parse + base64 decode only)
 *   - peak RSS of the full analysis at 100k and 1M records (the 1M run reads the 500k set twice).
 * Each measurement runs RUNS times; the best rate is reported (the machine is shared, so the best run
 * is the one least disturbed). Env: DRIFT_BENCH_RECORDS (default 500000), DRIFT_BENCH_RUNS (default 2).
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { syntheticLines } from "../test/drift/generate.ts";

const RECORDS = Number(process.env.DRIFT_BENCH_RECORDS ?? 500_000);
const RUNS = Number(process.env.DRIFT_BENCH_RUNS ?? 2);
const PER_FILE = 50_000;
const run = promisify(execFile);
const here = import.meta.dirname;

interface Measurement {
  mode: string;
  records: number;
  strictPath: number;
  seconds: number;
  recordsPerSecond: number;
  cpuSeconds: number;
  recordsPerCpuSecond: number;
  maxRssMiB: number;
  heapAfterGcMiB: number;
}

async function writeFileOf(path: string, count: number, seed: number): Promise<void> {
  const out = createWriteStream(path);
  let batch: string[] = [];
  for (const line of syntheticLines(count, { seed, devices: 4 })) {
    batch.push(line);
    if (batch.length === 2000) {
      if (!out.write(`${batch.join("\n")}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
      batch = [];
    }
  }
  out.end(batch.length > 0 ? `${batch.join("\n")}\n` : "");
  await new Promise<void>((r) => out.once("finish", () => r()));
}

async function measure(mode: "full" | "floor", baselineDir: string, files: string[]): Promise<Measurement> {
  let best: Measurement | undefined;
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await run(
      process.execPath,
      ["--expose-gc", "--import", "tsx", join(here, "drift-run.ts"), mode, baselineDir, ...files],
      {
        maxBuffer: 1 << 20,
      },
    );
    const m = JSON.parse(stdout) as Measurement;
    if (best === undefined || m.recordsPerCpuSecond > best.recordsPerCpuSecond)
      best = { ...m, maxRssMiB: Math.max(m.maxRssMiB, best?.maxRssMiB ?? 0) };
  }
  return best as Measurement;
}

const dir = await mkdtemp(join(tmpdir(), "edge-mlops-bench-drift-"));
try {
  const t0 = Date.now();
  const files: string[] = [];
  for (let i = 0; i * PER_FILE < RECORDS; i++) {
    const path = join(dir, `capture-${String(i).padStart(3, "0")}.jsonl`);
    await writeFileOf(path, Math.min(PER_FILE, RECORDS - i * PER_FILE), 100 + i);
    files.push(path);
  }
  const baselineInput = join(dir, "baseline-sample.jsonl");
  await writeFileOf(baselineInput, 20_000, 7);
  await run(process.execPath, [
    "--import",
    "tsx",
    join(here, "../cli/main.ts"),
    "baseline",
    "--input",
    baselineInput,
    "--out",
    join(dir, "baseline"),
  ]);
  process.stdout.write(
    `generated ${RECORDS.toLocaleString("en")} records in ${files.length} files (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
  );

  const full = await measure("full", join(dir, "baseline"), files);
  const floor = await measure("floor", join(dir, "baseline"), files);
  const small = await measure(
    "full",
    join(dir, "baseline"),
    files.slice(0, Math.max(1, Math.round(100_000 / PER_FILE))),
  );
  const large = await measure("full", join(dir, "baseline"), [...files, ...files]);

  const n = (x: number) => x.toLocaleString("en");
  const row = (label: string, m: Measurement) =>
    `${label.padEnd(32)} ${n(m.records).padStart(10)} ${n(m.recordsPerSecond).padStart(12)} ${n(m.recordsPerCpuSecond).padStart(14)} ${`${m.maxRssMiB}`.padStart(9)}`;
  process.stdout.write(
    [
      "",
      `${"measurement".padEnd(32)} ${"records".padStart(10)} ${"records/s".padStart(12)} ${"records/CPU-s".padStart(14)} ${"peak MiB".padStart(9)}`,
      row("full analysis", full),
      row("floor: read+JSON.parse+base64", floor),
      row(`full analysis, ${n(small.records)}`, small),
      row(`full analysis, ${n(large.records)}`, large),
      "",
      `full / floor: ${(full.recordsPerSecond / floor.recordsPerSecond).toFixed(2)}× wall, ${(full.recordsPerCpuSecond / floor.recordsPerCpuSecond).toFixed(2)}× CPU   (target ≥ 0.6×; ≥ 250,000 records/s)`,
      `peak RSS ${n(small.records)} → ${n(large.records)} records: ${small.maxRssMiB} → ${large.maxRssMiB} MiB   (target: flat); heap after GC: ${small.heapAfterGcMiB} → ${large.heapAfterGcMiB} MiB`,
      `records that needed the strict path: ${full.strictPath}`,
      `best of ${RUNS} runs each (by CPU rate); one process, one thread. Load average now: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")} on ${cpus().length} cores — wall-clock rates fall when others share them.`,
      "",
    ].join("\n"),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
