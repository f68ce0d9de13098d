import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.ts";
import { syntheticLines } from "./generate.ts";

const repo = join(import.meta.dirname, "../..");
let dir: string;
let out: string[];
let err: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "drift-cli-"));
  await writeFile(join(dir, "train.jsonl"), `${[...syntheticLines(8000, { seed: 1 })].join("\n")}\n`);
  await writeFile(
    join(dir, "same.jsonl"),
    `${[...syntheticLines(3000, { seed: 2 })].join("\n")}\n{"truncated": \n`,
  );
  await writeFile(
    join(dir, "same-2.jsonl.gz"),
    gzipSync(`${[...syntheticLines(1000, { seed: 3 })].join("\n")}\n`),
  );
  await writeFile(
    join(dir, "shifted.jsonl"),
    `${[...syntheticLines(3000, { seed: 4, shift: 0.6 })].join("\n")}\n`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<number> {
  out = [];
  err = [];
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => out.push(String(s)) > 0);
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => err.push(String(s)) > 0);
  try {
    return await main(argv);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
afterEach(() => vi.restoreAllMocks());

describe("edge-mlops baseline / drift", () => {
  it("baseline writes statistics.json and constraints.json in Model Monitor's shape", async () => {
    expect(await cli("baseline", "--input", join(dir, "train.jsonl"), "--out", join(dir, "bl"))).toBe(0);
    expect(out.join("")).toMatch(/8000 capture records, 20 features/);
    const stats = JSON.parse(await readFile(join(dir, "bl/statistics.json"), "utf8"));
    const cons = JSON.parse(await readFile(join(dir, "bl/constraints.json"), "utf8"));
    expect(stats.dataset).toEqual({ item_count: 8000 });
    expect(stats.features[0].numerical_statistics.distribution.kll.sketch.parameters).toEqual({
      c: 0.64,
      k: 2048,
    });
    expect(
      cons.features.find((f: { name: string }) => f.name === "probabilities_argmax").string_constraints
        .domains,
    ).toEqual(["0", "1", "2"]);
    expect(cons.monitoring_config.distribution_constraints.comparison_method).toBe("Robust");
  });

  it("drift on data like the baseline: exit 0, the --json shape, quarantined lines listed", async () => {
    const json = join(dir, "same.json");
    const code = await cli(
      "drift",
      "--baseline",
      join(dir, "bl"),
      "--json",
      json,
      "--fail-on-drift",
      join(dir, "same.jsonl"),
      join(dir, "same-2.jsonl.gz"),
    );
    expect(code).toBe(0);
    expect(err.join("")).toBe("");
    const doc = JSON.parse(await readFile(json, "utf8"));
    expect(Object.keys(doc)).toEqual(["records", "features", "violations", "quarantine"]);
    expect(doc.records).toEqual({ total: 4001, valid: 4000, quarantined: 1 });
    expect(doc.features).toHaveLength(20);
    for (const f of doc.features)
      expect(Object.keys(f)).toEqual(["name", "kind", "method", "distance", "threshold", "drifted"]);
    expect(doc.features[0]).toMatchObject({
      name: "input_0",
      kind: "input",
      method: "Robust",
      threshold: 0.1,
      drifted: false,
    });
    expect(doc.features.find((f: { name: string }) => f.name === "probabilities_argmax")).toMatchObject({
      kind: "output",
      method: "LInfinity",
    });
    expect(doc.violations).toEqual([]);
    expect(doc.quarantine).toEqual([
      { file: join(dir, "same.jsonl"), line: 3001, reason: expect.stringMatching(/^invalid JSON/) },
    ]);
  });

  it("drift on shifted inputs: exit 3 with --fail-on-drift, 0 without; HTML is self-contained", async () => {
    const html = join(dir, "report.html");
    const json = join(dir, "shifted.json");
    expect(
      await cli(
        "drift",
        "--baseline",
        join(dir, "bl"),
        "--fail-on-drift",
        "--html",
        html,
        "--json",
        json,
        join(dir, "shifted.jsonl"),
      ),
    ).toBe(3);
    expect(out.join("")).toMatch(/features: 20 compared, \d+ drifted \(input_0/);
    const doc = JSON.parse(await readFile(json, "utf8"));
    const drifted = doc.features
      .filter((f: { drifted: boolean }) => f.drifted)
      .map((f: { name: string }) => f.name);
    expect(drifted).toEqual(expect.arrayContaining(Array.from({ length: 16 }, (_, i) => `input_${i}`)));
    expect(
      doc.violations
        .filter((v: { constraint_check_type: string }) => v.constraint_check_type === "baseline_drift_check")
        .map((v: { feature_name: string }) => v.feature_name),
    ).toEqual(drifted);

    const page = await readFile(html, "utf8");
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).not.toMatch(/<script|<link|@import|src=/i);
    expect(page.match(/<svg/g)?.length).toBeGreaterThanOrEqual(2 * 19 + 1);
    // Summary table lists drifted features before the others.
    const rows = [...page.matchAll(/<tr class="(bad|good)"><td><a href="#f\d+-([^"]+)">/g)].map((m) => m[1]);
    expect(rows.filter((r) => r === "bad")).toHaveLength(drifted.length);
    expect(rows.indexOf("good")).toBeGreaterThan(rows.lastIndexOf("bad"));

    expect(await cli("drift", "--baseline", join(dir, "bl"), join(dir, "shifted.jsonl"))).toBe(0);
  });

  it("drift on two devices: the report has the fleet × device grid; --json keeps its shape", async () => {
    // dev-a looks like the baseline, dev-b sees every input shifted.
    const lines = (device: string, opts: { seed: number; shift?: number }) =>
      [...syntheticLines(2000, { ...opts, devices: 1 })].map((l) => l.replace('"device-0"', `"${device}"`));
    await writeFile(
      join(dir, "two.jsonl"),
      `${[...lines("dev-a", { seed: 21 }), ...lines("dev-b", { seed: 22, shift: 0.6 })].join("\n")}\n`,
    );
    const html = join(dir, "two.html");
    const json = join(dir, "two.json");
    const args = ["drift", "--baseline", join(dir, "bl"), "--json", json];
    expect(await cli(...args, "--html", html, join(dir, "two.jsonl"))).toBe(0);

    const page = await readFile(html, "utf8");
    expect(page).toContain("devices drifted<b>1 / 2</b>");
    const grid = page.slice(
      page.indexOf('<table class="grid">'),
      page.indexOf("</table>", page.indexOf('class="grid"')),
    );
    expect(grid).toContain('<th>fleet</th><th class="dev">dev-b</th><th class="dev">dev-a</th>');
    // Fleet, then dev-b's own distance (drifted), then dev-a's (within threshold), as numbers.
    const row = grid.match(/<tr><td class="f"><a href="#f\d+-input_0">input_0<\/a><\/td>(.*?)<\/tr>/)?.[1];
    expect(row).toMatch(
      /^<td class="[ox]">\d\.\d{3}<\/td><td class="x">\d\.\d{3}<\/td><td class="o">\d\.\d{3}<\/td>$/,
    );
    expect(page).toContain('aria-label="Cumulative distribution of input_0 on the devices where it drifts"');
    expect(page).not.toMatch(/https?:\/\/|<script/);

    const doc = JSON.parse(await readFile(json, "utf8"));
    expect(Object.keys(doc)).toEqual(["records", "features", "violations", "quarantine"]);
    expect(doc.records).toEqual({ total: 4000, valid: 4000, quarantined: 0 });
    for (const f of doc.features)
      expect(Object.keys(f)).toEqual(["name", "kind", "method", "distance", "threshold", "drifted"]);

    // One device: nothing to break down, so no grid.
    await writeFile(join(dir, "one.jsonl"), `${lines("dev-a", { seed: 23 }).join("\n")}\n`);
    expect(await cli(...args, "--html", html, join(dir, "one.jsonl"))).toBe(0);
    expect(await readFile(html, "utf8")).not.toContain("Fleet and devices");
  });

  it("usage and I/O errors: exit 1 with one line", async () => {
    expect(await cli("drift", join(dir, "same.jsonl"))).toBe(1);
    expect(err[0]).toMatch(/^edge-mlops drift: --baseline <dir> is required\n/);
    expect(await cli("drift", "--baseline", join(dir, "bl"), "--bogus", join(dir, "same.jsonl"))).toBe(1);
    expect(err[0]).toMatch(/Unknown option '--bogus'/);
    expect(await cli("drift", "--baseline", join(dir, "bl"), join(dir, "missing.jsonl"))).toBe(1);
    expect(err).toEqual([`edge-mlops drift: cannot read ${join(dir, "missing.jsonl")}: ENOENT\n`]);
    expect(await cli("drift", "--baseline", join(dir, "nowhere"), join(dir, "same.jsonl"))).toBe(1);
    expect(err).toEqual([
      `edge-mlops drift: cannot read ${join(dir, "nowhere", "statistics.json")}: ENOENT\n`,
    ]);
    expect(await cli("baseline", "--input", join(dir, "missing.csv"), "--out", join(dir, "x"))).toBe(1);
    expect(err.join("")).toMatch(/^edge-mlops baseline: .*ENOENT/);
  });

  it("unknown command: usage, exit 1", async () => {
    expect(await cli("frobnicate")).toBe(1);
    expect(err.join("")).toMatch(/^unknown command: frobnicate\nusage: edge-mlops <command>/);
    expect(err.join("")).toMatch(/\n {2}drift {2,}compare capture files/);
  });

  it("runs as `npx edge-mlops` through the bin shim", async () => {
    const run = promisify(execFile);
    const res = await run(
      "npx",
      ["edge-mlops", "drift", "--baseline", join(dir, "bl"), join(dir, "same-2.jsonl.gz")],
      { cwd: repo },
    );
    expect(res.stdout).toMatch(/^records: 1000 total, 1000 valid, 0 quarantined\n/);
    const bad = await run("npx", ["edge-mlops", "nope"], { cwd: repo }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^unknown command: nope/) });
  });
});

describe("progress", () => {
  it("shows a self-overwriting progress line on a TTY, and clears it", async () => {
    await writeFile(join(dir, "big.jsonl"), `${[...syntheticLines(60_000, { seed: 9 })].join("\n")}\n`);
    const tty = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
    try {
      expect(await cli("drift", "--baseline", join(dir, "bl"), join(dir, "big.jsonl"))).toBe(0);
    } finally {
      if (tty === undefined) Reflect.deleteProperty(process.stderr, "isTTY");
      else Object.defineProperty(process.stderr, "isTTY", tty);
    }
    expect(err[0]).toMatch(/^\r50,000 records · 0 files done · [\d,]+ rec\/s $/);
    expect(err.at(-1)).toBe("\r\x1b[2K");
    expect(out.join("")).toMatch(/^records: 60000 total/);
  });
});
