/**
 * One measurement in a fresh process (so peak RSS belongs to that measurement alone):
 *   node --import tsx bench/drift-run.ts full|floor <baselineDir> <files…>
 * Prints one JSON line: { mode, records, seconds, recordsPerSecond, cpuSeconds, recordsPerCpuSecond, maxRssMiB, heapAfterGcMiB }.
 * Run with --expose-gc for heapAfterGcMiB.
 */
import { createReadStream } from "node:fs";
import { compareToBaseline } from "../functions/drift/compare.ts";
import { decompressed, splitLines } from "../functions/drift/lines.ts";
import { analyzeFiles, loadBaselineDir } from "../functions/drift/local-files.ts";

const [mode, baselineDir, ...files] = process.argv.slice(2);

/** The floor: read + split + JSON.parse of every record + base64 decode of every tensor into a typed array. */
async function floor(paths: string[]): Promise<number> {
  let records = 0;
  let sink = 0;
  for (const path of paths) {
    await splitLines(decompressed(createReadStream(path, { highWaterMark: 1 << 18 })), {
      line(bytes) {
        if (bytes.length === 0) return;
        const doc = JSON.parse(bytes.toString("utf8"));
        for (const list of [doc.deviceFleetInputs, doc.deviceFleetOutputs]) {
          for (const t of list) {
            const raw = Buffer.from(t.data, "base64");
            const values = new Float32Array(
              raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength),
            );
            sink += values[0] as number;
          }
        }
        records++;
      },
      oversized() {},
    });
  }
  if (Number.isNaN(sink)) process.stderr.write("");
  return records;
}

async function full(paths: string[]): Promise<{ records: number; strict: number }> {
  const baseline = await loadBaselineDir(baselineDir as string);
  let strict = 0;
  const { profile } = await analyzeFiles(paths, { onFileDone: (_, c) => (strict += c.strict) });
  const group = profile.rollup();
  if (group === undefined) throw new Error("no records");
  const result = compareToBaseline(baseline, group, profile.records);
  if (result.features.length === 0) throw new Error("nothing compared");
  return { records: profile.records.valid, strict };
}

const started = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
const outcome = mode === "floor" ? { records: await floor(files), strict: 0 } : await full(files);
// What the analysis still holds after a full GC (the merged profile): shows memory does not grow with input.
(globalThis as { gc?: () => void }).gc?.();
const retained = process.memoryUsage().heapUsed;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuStart);
// CPU seconds of this process: far less disturbed than wall time when other work shares the cores.
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    mode,
    records: outcome.records,
    strictPath: outcome.strict,
    seconds: Number(seconds.toFixed(3)),
    recordsPerSecond: Math.round(outcome.records / seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(3)),
    recordsPerCpuSecond: Math.round(outcome.records / cpuSeconds),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    heapAfterGcMiB: Math.round(retained / 2 ** 20),
  })}\n`,
);
