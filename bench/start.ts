/**
 * Wall time of `npm start` (the whole local loop), from spawn to exit, over a few runs.
 *
 *   npm run bench:start [-- --runs 3 [-- <demo flags>]]
 *
 * Each run is a fresh process with a fresh temporary state dir, as a newcomer's first run is
 * (the inference component bundle, the model compile and everything else happen every time).
 * Also records when the demo reported each milestone, from its `[ t s]` lines. Raw numbers go to
 * bench/out/start.json.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

interface Run {
  exitCode: number | null;
  wallSeconds: number;
  /** Seconds since start at which the demo printed each ✓ line. */
  milestones: Record<string, number>;
  predictions?: number;
}

function runOnce(demoArgs: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("npm", ["start", "--silent", "--", ...demoArgs], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", (exitCode) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      const milestones: Record<string, number> = {};
      for (const m of out.matchAll(/^\[\s*([\d.]+)s\] ✓ (.+?)(?: \([\d.]+ s\))?$/gm)) {
        if (m[1] && m[2]) milestones[m[2]] = Number(m[1]);
      }
      const predictions = /(\d+) predictions, \d+ failed/.exec(out)?.[1];
      resolve({
        exitCode,
        wallSeconds: Math.round(wallSeconds * 10) / 10,
        milestones,
        ...(predictions ? { predictions: Number(predictions) } : {}),
      });
    });
  });
}

const { values, positionals } = parseArgs({ options: { runs: { type: "string" } }, allowPositionals: true });
const runs = Number(values.runs ?? 3);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error("usage: tsx bench/start.ts [--runs 1-20] [-- <demo flags>]");
  process.exit(2);
}
const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  const r = await runOnce(positionals);
  results.push(r);
  console.log(
    `run ${i + 1}: exit ${r.exitCode}, ${r.wallSeconds} s wall (${Object.entries(r.milestones)
      .map(([k, v]) => `${v}s ${k.split(/[:(]/)[0]?.split(" ").slice(0, 3).join(" ")}`)
      .join("; ")})`,
  );
}
const times = results.map((r) => r.wallSeconds).sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;
console.log(`npm start: median ${median} s, min ${times[0]} s, max ${times.at(-1)} s over ${runs} run(s)`);
const outDir = join(repoRoot, "bench", "out");
await mkdir(outDir, { recursive: true });
await writeFile(
  join(outDir, "start.json"),
  `${JSON.stringify({ date: new Date().toISOString(), args: positionals, median, results }, null, 2)}\n`,
);
process.exitCode = results.every((r) => r.exitCode === 0) ? 0 : 1;
