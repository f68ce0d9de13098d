import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import edgeConfig from "../edge-mlops.config.ts";
import type { FleetOutcome } from "../functions/drift/aggregate.ts";
import { compareToBaseline, type DriftResult } from "../functions/drift/compare.ts";
import { baselineKeys } from "../functions/drift/keys.ts";
import { loadBaselineDir } from "../functions/drift/local-files.ts";
import { Profile } from "../functions/drift/profile.ts";
import { readCapture } from "../functions/drift/reader.ts";
import type { LocalEndpoint } from "../local/endpoint.ts";
import { eventRouterOf } from "../local/eventbridge/index.ts";
import type { LoopClients } from "../local/fleet/loop.ts";
import { captureQueueOf } from "../local/sqs/index.ts";
import { localResources } from "../local/wiring.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export interface FeatureCell {
  name: string;
  distance: number | null;
  threshold: number | null;
  drifted: boolean;
}

/** Drift of the fleet and of each device, as the demo prints it and the tests assert on it. */
export interface FleetDrift {
  records: number;
  fleet: { features: FeatureCell[]; violations: number };
  devices: Array<{ device: string; records: number; features: FeatureCell[] }>;
  /** Where the HTML report was written on this machine. */
  reportPath: string;
  /** s3:// URI of aggregate-drift's drift.json for the window. */
  resultUri: string;
  /** What aggregate-drift reported for the fleet (written / unchanged, drifted, event sent). */
  outcome: FleetOutcome;
}

/** aggregate-drift did not produce a result for the fleet. */
export class DriftAnalysisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DriftAnalysisError";
  }
}

/**
 * The pipeline's own analysis: the baseline where aggregate-drift looks for it, every capture
 * file through the queue and analyze-capture, the clock moved past the hour the traffic fell in,
 * then the drift schedule fired (as `edge-mlops local tick` does). Returns the fleet outcome.
 */
async function runAggregateDrift(
  endpoint: LocalEndpoint,
  clients: LoopClients,
  baselineDir: string,
  model: string,
): Promise<FleetOutcome> {
  const keys = baselineKeys(model);
  for (const [file, key] of [
    ["statistics.json", keys.statistics],
    ["constraints.json", keys.constraints],
  ] as const) {
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: localResources.resultsBucket,
        Key: key,
        Body: await readFile(join(baselineDir, file)),
        ContentType: "application/json",
      }),
    );
  }
  await captureQueueOf(endpoint.url).idle();
  // The schedule aggregates whole hours that have ended; capture keys carry the wall-clock hour.
  const nextHour = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3_600_000;
  const ahead = (nextHour - endpoint.clock.now().getTime()) / 1000;
  if (ahead > 0) endpoint.clock.advance(ahead + 1);
  const runs = await eventRouterOf(endpoint.url).scheduler.tick(localResources.driftScheduleName);
  const run = runs[0];
  if (run?.status !== "SUCCEEDED")
    throw new DriftAnalysisError(`aggregate-drift failed: ${run?.error ?? "the drift schedule did not run"}`);
  const outcomes = (run.result as { outcomes?: FleetOutcome[] } | undefined)?.outcomes ?? [];
  const outcome = outcomes.find((o) => o.model === model && o.resultKey);
  if (!outcome)
    throw new DriftAnalysisError(`aggregate-drift wrote no result for ${model}: ${JSON.stringify(outcomes)}`);
  return outcome;
}

const cells = (result: DriftResult): FeatureCell[] =>
  result.features.map((f) => ({
    name: f.name,
    distance: f.distance,
    threshold: f.threshold,
    drifted: f.drifted,
  }));

export interface DriftAnalysisOptions {
  /** Model Monitor baseline folder (statistics.json, constraints.json); default examples/baseline. */
  baselineDir?: string;
  /** Where to write the HTML report; default `.edge-mlops/reports/` in the working directory (kept after the demo). */
  reportDir?: string;
  driftedDevices?: string[];
}

/**
 * Drift of the fleet as aggregate-drift wrote it (fired by the drift schedule), plus a per-device,
 * per-feature table from the capture files themselves (the drift document keeps only each
 * device's drifted features), and the HTML report copied next to the working directory.
 * @example const drift = await analyzeFleetDrift(endpoint, clients);
 */
export async function analyzeFleetDrift(
  endpoint: LocalEndpoint,
  clients: LoopClients,
  options: DriftAnalysisOptions = {},
): Promise<FleetDrift> {
  const baselineDir = options.baselineDir ?? join(repoRoot, "examples", "baseline");
  const baseline = await loadBaselineDir(baselineDir);
  const model = edgeConfig.groups[0]?.modelPackageGroupName ?? "";
  const outcome = await runAggregateDrift(endpoint, clients, baselineDir, model);
  const read = async (key: string) =>
    (
      await clients.s3.send(new GetObjectCommand({ Bucket: localResources.resultsBucket, Key: key }))
    ).Body?.transformToString();
  const prefix = `${edgeConfig.capturePrefix.replace(/\/+$/, "")}/`;
  const profile = new Profile();
  let token: string | undefined;
  do {
    const page = await clients.s3.send(
      new ListObjectsV2Command({
        Bucket: localResources.captureBucket,
        Prefix: prefix,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) {
      if (!object.Key?.endsWith(".jsonl") && !object.Key?.endsWith(".jsonl.gz")) continue;
      const got = await clients.s3.send(
        new GetObjectCommand({ Bucket: localResources.captureBucket, Key: object.Key }),
      );
      const bytes = await got.Body?.transformToByteArray();
      if (!bytes) continue;
      const counts = await readCapture(
        [bytes],
        `s3://${localResources.captureBucket}/${object.Key}`,
        profile.consumer(),
      );
      profile.addCounts(counts);
      profile.sources.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (profile.records.valid === 0)
    throw new Error(`no capture records under s3://${localResources.captureBucket}/${prefix}`);
  const devices = profile
    .groupList()
    .sort((a, b) => a.device.localeCompare(b.device))
    .map((g) => {
      const result = compareToBaseline(baseline, g, { total: g.records, valid: g.records, quarantined: 0 });
      return { device: g.device, records: g.records, result };
    });
  const reportDir = resolve(options.reportDir ?? join(".edge-mlops", "reports"));
  await mkdir(reportDir, { recursive: true });
  const reportPath = join(reportDir, `drift-${new Date().toISOString().replace(/[:.]/g, "-")}.html`);
  const resultKey = outcome.resultKey as string;
  const fleet = JSON.parse((await read(resultKey)) ?? "{}") as DriftResult;
  await writeFile(reportPath, (await read(resultKey.replace(/drift\.json$/, "report.html"))) ?? "");
  return {
    records: fleet.records?.valid ?? profile.records.valid,
    fleet: { features: cells(fleet), violations: fleet.violations?.length ?? 0 },
    devices: devices.map((d) => ({ device: d.device, records: d.records, features: cells(d.result) })),
    reportPath,
    resultUri: `s3://${localResources.resultsBucket}/${resultKey}`,
    outcome,
  };
}
