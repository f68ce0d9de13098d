/**
 * Per-prediction latency of the inference component against a bare `session.run`.
 *
 *   npm run bench:edge [-- --n 4000 --rounds 5]
 *
 * Variants (sequential calls, one row each, on the example classifier):
 *   bare session.run              new ort.Tensor + session.run
 *   runtime.predict, capture on   the component's typed in-process API
 *   handle(), capture off         the request handler the socket uses (wire decode/encode, no capture)
 *   handle(), capture on          the same with capture to disk at 100% sampling
 *   socket, capture on            InferenceClient over 127.0.0.1 TCP (base64 tensors)
 * Rounds interleave the variants so machine noise hits them alike. Results also go to
 * bench/out/edge-latency.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";
import { InferenceClient } from "../edge/client.ts";
import { startInferenceRuntime } from "../edge/index.ts";
import { sampleFeatures } from "../examples/distribution.ts";
import { examplePaths, examplesDir } from "../examples/generate-model.ts";
import { createRng } from "../examples/prng.ts";

const { values } = parseArgs({ options: { n: { type: "string" }, rounds: { type: "string" } } });
const perRound = Number(values.n ?? 4000);
const rounds = Number(values.rounds ?? 5);
const modelPath = join(examplesDir, examplePaths.model);

const rng = createRng(2024);
const rows = Array.from({ length: 1000 }, () => sampleFeatures(rng));
const row = (i: number) => rows[i % rows.length] as Float32Array;

const session = await ort.InferenceSession.create(modelPath);
const captureDir = await mkdtemp(join(tmpdir(), "edge-bench-"));
const capture = {
  deviceFleetName: "bench",
  deviceId: "bench-1",
  destination: "Disk" as const,
  diskPath: captureDir,
  // Large enough that nothing is dropped: every prediction pays for its capture.
  bufferSize: 50_000,
  batchSize: 500,
  pushPeriodSeconds: 1,
};
const withCapture = await startInferenceRuntime({
  port: 0,
  models: [{ name: "clf", path: modelPath }],
  capture,
});
const withoutCapture = await startInferenceRuntime({
  port: 0,
  models: [{ name: "clf", path: modelPath }],
  capture: false,
});
const client = await InferenceClient.connect(withCapture.address);

// Requests are built before timing: what a caller does to build its JSON is not the component's cost.
const requests = rows.map((r) => ({
  op: "predict",
  model: "clf",
  inputs: { input: { dtype: "float32", shape: [1, 16], data: Array.from(r) } },
}));
const request = (i: number) => requests[i % requests.length];

const variants: Record<string, (i: number) => Promise<unknown>> = {
  "bare session.run": (i) => session.run({ input: new ort.Tensor("float32", row(i), [1, 16]) }),
  "runtime.predict, capture on": (i) =>
    withCapture.runtime.predict("clf", [{ name: "input", dtype: "float32", dims: [1, 16], data: row(i) }]),
  "handle(), capture off": (i) => withoutCapture.runtime.handle(request(i)),
  "handle(), capture on": (i) => withCapture.runtime.handle(request(i)),
  "socket, capture on": (i) =>
    client.predict("clf", { input: { dtype: "float32", shape: [1, 16], data: row(i) } }),
};

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const [, fn] of Object.entries(variants)) for (let i = 0; i < 500; i++) await fn(i); // warm-up
for (let round = 0; round < rounds; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const out = samples[name] as number[];
    for (let i = 0; i < perRound; i++) {
      const start = process.hrtime.bigint();
      await fn(i);
      out.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  }
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  // Other processes on a shared machine add rare multi-millisecond stalls; the trimmed mean drops the top 1%.
  const kept = sorted.slice(0, Math.ceil(sorted.length * 0.99));
  return {
    n: xs.length,
    p50: at(0.5),
    p95: at(0.95),
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    trimmedMean: kept.reduce((a, b) => a + b, 0) / kept.length,
  };
};
const results = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, stats(xs)]));
const bare = results["bare session.run"] as ReturnType<typeof stats>;
const captureStats = (await withCapture.close()).capture;
await withoutCapture.close();
await client.close();
await session.release();
await rm(captureDir, { recursive: true, force: true });

const pct = (v: number, base: number) => `${v >= base ? "+" : ""}${(((v - base) / base) * 100).toFixed(1)}%`;
console.log(
  `per-prediction latency, µs (${rounds} rounds × ${perRound} calls each, example classifier, batch 1)`,
);
console.log("| path | p50 | p95 | mean | mean, top 1% trimmed | added vs bare (p50 / trimmed mean) |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [name, s] of Object.entries(results)) {
  const added =
    name === "bare session.run" ? "—" : `${pct(s.p50, bare.p50)} / ${pct(s.trimmedMean, bare.trimmedMean)}`;
  console.log(
    `| ${name} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.mean.toFixed(1)} | ${s.trimmedMean.toFixed(1)} | ${added} |`,
  );
}
console.log(`capture: ${JSON.stringify(captureStats)}`);
await mkdir(join(examplesDir, "..", "bench", "out"), { recursive: true });
await writeFile(
  join(examplesDir, "..", "bench", "out", "edge-latency.json"),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, perRound, rounds, results, capture: captureStats }, null, 2)}\n`,
);
