import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { sdkStreamMixin } from "@smithy/util-stream";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { constraintsJson, statisticsJson } from "../../functions/drift/baseline.ts";
import { Profile } from "../../functions/drift/profile.ts";
import { readCapture } from "../../functions/drift/reader.ts";
import { syntheticLines } from "./generate.ts";

const s3 = mockClient(S3Client);
const eb = mockClient(EventBridgeClient);
const context = {
  functionName: "aggregate-drift",
  awsRequestId: "req-2",
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
const event = () =>
  structuredClone(
    JSON.parse(
      readFileSync(join(import.meta.dirname, "../fixtures/drift/events/scheduler-aggregate.json"), "utf8"),
    ),
  );
let handler: (e: unknown, c: Context) => Promise<{ window: string; outcomes: Record<string, unknown>[] }>;
const emf: Record<string, unknown>[] = [];

const jsonBody = (v: unknown) => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(JSON.stringify(v))])) });
const noSuchKey = () =>
  Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });

async function profileOf(lines: Iterable<string>, source: string) {
  const p = new Profile();
  p.addCounts(await readCapture([Buffer.from(`${[...lines].join("\n")}\n{bad\n`)], source, p.consumer()));
  p.sources.push(source);
  return p.toJSON();
}

const hour = "profiles/capture/fleet-a/classifier/2026/11/24/22/";
const p1 = `${hour}device-0.jsonl.aaaa1111.json`;
const p1old = `${hour}device-0.jsonl.0000ffff.json`;
const p2 = `${hour}device-1.jsonl.bbbb2222.json`;
const resultsPrefix = "results/classifier/2026/11/24/22/fleet-a/";

let baseline: { statistics: unknown; constraints: unknown };
let profiles: Record<string, unknown>;

beforeAll(async () => {
  process.env.RESULTS_BUCKET = "edge-mlops-results";
  process.env.CAPTURE_PREFIX = "capture/";
  process.env.EVENT_BUS_NAME = "edge-mlops-bus";
  process.env.POWERTOOLS_DEV = "true";
  // Dev mode routes EMF to the global console (spied below) but would disable metrics unless told not to.
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.includes('"_aws"')) emf.push(JSON.parse(line));
  });
  const base = new Profile();
  await readCapture(
    [Buffer.from([...syntheticLines(3000, { seed: 11, devices: 1 })].join("\n"))],
    "b",
    base.consumer(),
  );
  const g = base.rollup();
  if (g === undefined) throw new Error("no baseline records");
  baseline = {
    statistics: statisticsJson(g.features(), g.records),
    constraints: constraintsJson(g.features(), g.records),
  };
  profiles = {
    // device-0 matches the baseline; device-1 sees inputs shifted by +1.
    [p1]: await profileOf(syntheticLines(1500, { seed: 12, devices: 1, fleet: "fleet-a" }), "device-0.jsonl"),
    [p1old]: await profileOf(
      syntheticLines(10, { seed: 13, devices: 1, shift: 50, fleet: "fleet-a" }),
      "device-0.jsonl",
    ),
    [p2]: await profileOf(
      [...syntheticLines(1500, { seed: 14, devices: 1, shift: 1, fleet: "fleet-a" })].map((l) =>
        l.replace('"device-0"', '"device-1"'),
      ),
      "device-1.jsonl",
    ),
  };
  ({ handler } = (await import("../../functions/drift/aggregate-drift.ts")) as never);
});

beforeEach(() => {
  s3.reset();
  eb.reset();
  emf.length = 0;
  s3.on(ListObjectsV2Command, { Prefix: "profiles/capture/", Delimiter: "/" }).resolves({
    CommonPrefixes: [{ Prefix: "profiles/capture/fleet-a/" }],
  });
  s3.on(ListObjectsV2Command, { Prefix: "profiles/capture/fleet-a/", Delimiter: "/" }).resolves({
    CommonPrefixes: [{ Prefix: "profiles/capture/fleet-a/classifier/" }],
  });
  s3.on(ListObjectsV2Command, { Prefix: hour }).resolves({
    Contents: [
      { Key: p1old, LastModified: new Date("2026-11-24T22:05:00Z") },
      { Key: p1, LastModified: new Date("2026-11-24T22:30:00Z") },
      { Key: p2, LastModified: new Date("2026-11-24T22:31:00Z") },
    ],
  });
  for (const [key, value] of Object.entries(profiles))
    s3.on(GetObjectCommand, { Key: key }).callsFake(() => jsonBody(value));
  s3.on(GetObjectCommand, { Key: "baselines/classifier/statistics.json" }).callsFake(() =>
    jsonBody(baseline.statistics),
  );
  s3.on(GetObjectCommand, { Key: "baselines/classifier/constraints.json" }).callsFake(() =>
    jsonBody(baseline.constraints),
  );
  s3.on(GetObjectCommand, { Key: `${resultsPrefix}drift.json` }).rejects(noSuchKey());
  s3.on(PutObjectCommand).resolves({});
  eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
});

const written = () =>
  new Map(
    s3
      .commandCalls(PutObjectCommand)
      .map((c) => [c.args[0].input.Key as string, String(c.args[0].input.Body)]),
  );

describe("aggregate-drift handler", () => {
  it("merges the window's newest profiles per fleet and device, writes results, metrics and one event", async () => {
    const res = await handler(event(), context);
    expect(res.window).toBe("2026/11/24/22");
    expect(res.outcomes).toEqual([
      expect.objectContaining({
        model: "classifier",
        fleet: "fleet-a",
        status: "written",
        profiles: 2,
        records: 3002,
        drifted: true,
        eventSent: true,
      }),
    ]);
    // The overwritten file's stale profile (older LastModified, other ETag) is not read.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).not.toContain(p1old);

    const out = written();
    expect([...out.keys()]).toEqual(
      ["constraint_violations.json", "statistics.json", "report.html", "drift.json"].map(
        (n) => resultsPrefix + n,
      ),
    );
    const violations = JSON.parse(out.get(`${resultsPrefix}constraint_violations.json`) as string);
    expect(violations.violations.length).toBeGreaterThan(0);
    expect(violations.violations[0]).toEqual({
      feature_name: expect.any(String),
      constraint_check_type: "baseline_drift_check",
      description: expect.stringMatching(/^Baseline drift distance: [\d.]+ exceeds threshold: 0.1/),
    });

    const doc = JSON.parse(out.get(`${resultsPrefix}drift.json`) as string);
    expect(doc).toMatchObject({
      model: "classifier",
      fleet: "fleet-a",
      device: "*",
      records: { total: 3002, valid: 3000, quarantined: 2 },
      inputs: [p1, p2],
      window: { id: "2026/11/24/22", start: "2026-11-24T22:00:00.000Z", end: "2026-11-24T23:00:00.000Z" },
    });
    const devices = Object.fromEntries(
      doc.devices.map((d: { device: string; drifted: string[] }) => [d.device, d.drifted]),
    );
    expect(devices["device-0"]).toEqual([]);
    expect(devices["device-1"]).toEqual(expect.arrayContaining(["input_0", "input_15"]));
    // Each device row: its own per-feature distances and violation count, beside the fleet's.
    const [d0, d1] = doc.devices as {
      device: string;
      records: number;
      maxDistance: number;
      violations: number;
      distances: Record<string, number | null>;
    }[];
    expect([d0?.device, d0?.records, d1?.device, d1?.records]).toEqual(["device-0", 1500, "device-1", 1500]);
    expect(Object.keys(d1?.distances ?? {})).toEqual(doc.features.map((f: { name: string }) => f.name));
    expect(d1?.distances.input_0).toBeGreaterThan(0.1);
    expect(d0?.distances.input_0).toBeLessThan(0.1);
    expect(d1?.violations).toBeGreaterThanOrEqual(16);
    expect(d0?.violations).toBe(0);

    const html = out.get(`${resultsPrefix}report.html`) as string;
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/https?:\/\/|<script/);
    expect(html).toContain(" · window 2026-11-24 22:00–23:00 UTC</p>");
    // The fleet × device grid shows device-1's own distance, and drifted features get per-device CDFs.
    const grid = html.slice(
      html.indexOf('<table class="grid">'),
      html.indexOf("</table>", html.indexOf('class="grid"')),
    );
    expect(grid).toContain('<th class="dev">device-1</th><th class="dev">device-0</th>');
    expect(grid).toContain(`<td class="x">${d1?.distances.input_0?.toFixed(3)}</td>`);
    expect(html).toContain('aria-label="Cumulative distribution of input_0 on the devices where it drifts"');

    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entry = eb.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: "edge-mlops-bus",
      Source: "edge-mlops",
      DetailType: "ModelDriftDetected",
    });
    const detail = JSON.parse(entry?.Detail as string);
    expect(detail).toMatchObject({
      model: "classifier",
      fleet: "fleet-a",
      driftedDevices: ["device-1"],
      results: `s3://edge-mlops-results/${resultsPrefix}`,
      report: `s3://edge-mlops-results/${resultsPrefix}report.html`,
    });
    expect(detail.driftedFeatures.map((f: { name: string }) => f.name)).toContain("input_0");

    // EMF: namespace EdgeMlops/Drift, dimensions exactly model+fleet, +feature, +device.
    const dims = emf.map(
      (m) =>
        (m._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
          .CloudWatchMetrics[0],
    );
    expect(new Set(dims.map((d) => d?.Namespace))).toEqual(new Set(["EdgeMlops/Drift"]));
    expect(dims.map((d) => d?.Dimensions[0]?.join(","))).toEqual(
      expect.arrayContaining(["model,fleet", "model,fleet,feature", "model,fleet,device"]),
    );
    const fleetMetrics = emf.find(
      (m) =>
        m.model === "classifier" &&
        m.fleet === "fleet-a" &&
        m.feature === undefined &&
        m.device === undefined,
    );
    expect(fleetMetrics).toMatchObject({ Records: 3002, RecordsQuarantined: 2 });
    expect(emf.find((m) => m.feature === "input_0")?.DriftDistance).toBeGreaterThan(0.1);
    expect(emf.find((m) => m.device === "device-1")?.DriftedFeatures).toBeGreaterThan(0);
  });

  it("a rerun over the same profiles writes nothing and sends no second event", async () => {
    s3.on(GetObjectCommand, { Key: `${resultsPrefix}drift.json` }).callsFake(() =>
      jsonBody({ inputs: [p1, p2], drifted: true }),
    );
    const res = await handler(event(), context);
    expect(res.outcomes).toEqual([expect.objectContaining({ status: "unchanged", drifted: true })]);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(eb).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it("a model without baseline is skipped and says where the baseline belongs", async () => {
    s3.on(GetObjectCommand, { Key: "baselines/classifier/statistics.json" }).rejects(noSuchKey());
    const res = await handler(event(), context);
    expect(res.outcomes).toEqual([
      expect.objectContaining({
        status: "no-baseline",
        reason:
          "no s3://edge-mlops-results/baselines/classifier/statistics.json and baselines/classifier/constraints.json",
      }),
    ]);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it("no drift: results written, no event", async () => {
    s3.on(ListObjectsV2Command, { Prefix: hour }).resolves({
      Contents: [{ Key: p1, LastModified: new Date() }],
    });
    const res = await handler(event(), context);
    expect(res.outcomes).toEqual([
      expect.objectContaining({ status: "written", drifted: false, eventSent: false }),
    ]);
    expect(JSON.parse(written().get(`${resultsPrefix}constraint_violations.json`) as string)).toEqual({
      violations: [],
    });
    // A one-device fleet keeps its per-device entry (its per-device metrics and alarms must not go
    // silent when a fleet shrinks); the report leaves out the grid, which would repeat the fleet.
    const doc = JSON.parse(written().get(`${resultsPrefix}drift.json`) as string);
    expect(doc.devices).toEqual([
      expect.objectContaining({ device: "device-0", drifted: [], violations: 0, records: doc.records.valid }),
    ]);
    expect(written().get(`${resultsPrefix}report.html`)).not.toContain("Fleet and devices");
    expect(eb).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it("rejects a time that is not a date", async () => {
    await expect(handler({ time: "yesterday" }, context)).rejects.toThrow(/is not a date/);
  });
});

describe("aggregate-drift: one bad input does not take down the rest", () => {
  it("a corrupt profile is set aside and listed; the window is still aggregated", async () => {
    s3.on(GetObjectCommand, { Key: p2 }).callsFake(() => ({
      Body: sdkStreamMixin(Readable.from([Buffer.from('{"version":1,"groups":')])),
    }));
    const res = await handler(event(), context);
    expect(res.outcomes).toEqual([
      expect.objectContaining({
        status: "written",
        records: 1501,
        skippedProfiles: [{ key: p2, reason: expect.stringMatching(/JSON/) }],
      }),
    ]);
    const doc = JSON.parse(written().get(`${resultsPrefix}drift.json`) as string);
    expect(doc.skippedProfiles).toEqual([{ key: p2, reason: expect.any(String) }]);
    expect(doc.inputs).toEqual([p1, p2]);
  });

  it("an unreadable baseline fails its model only, and the invocation reports it for a retry", async () => {
    s3.on(ListObjectsV2Command, { Prefix: "profiles/capture/fleet-a/", Delimiter: "/" }).resolves({
      CommonPrefixes: [
        { Prefix: "profiles/capture/fleet-a/broken/" },
        { Prefix: "profiles/capture/fleet-a/classifier/" },
      ],
    });
    s3.on(ListObjectsV2Command, { Prefix: "profiles/capture/fleet-a/broken/2026/11/24/22/" }).resolves({
      Contents: [{ Key: "profiles/capture/fleet-a/broken/2026/11/24/22/x.jsonl.cc.json" }],
    });
    s3.on(GetObjectCommand, { Key: "baselines/broken/statistics.json" }).callsFake(() =>
      jsonBody({ features: "nope" }),
    );
    s3.on(GetObjectCommand, { Key: "baselines/broken/constraints.json" }).callsFake(() =>
      jsonBody({ features: [] }),
    );
    await expect(handler(event(), context)).rejects.toThrow(
      /^drift aggregation failed for broken\/fleet-a: baseline of broken is unreadable: statistics.json has no features array$/,
    );
    // classifier/fleet-a was still aggregated.
    expect([...written().keys()]).toContain(`${resultsPrefix}drift.json`);
  });
});

describe("aggregation window", () => {
  it("covers the whole hours before the scheduled time", async () => {
    const { windowEndingAt } = await import("../../functions/drift/window.ts");
    expect(windowEndingAt(new Date("2026-11-25T03:00:12Z"), 1)).toMatchObject({
      id: "2026/11/25/02",
      hourPaths: ["2026/11/25/02"],
    });
    expect(windowEndingAt(new Date("2026-11-25T01:30:00Z"), 3)).toMatchObject({
      id: "2026/11/24/22-3h",
      hourPaths: ["2026/11/24/22", "2026/11/24/23", "2026/11/25/00"],
      start: new Date("2026-11-24T22:00:00Z"),
      end: new Date("2026-11-25T01:00:00Z"),
    });
  });
});
