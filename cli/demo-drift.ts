import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import edgeConfig from "../edge-mlops.config.ts";
import { compareToBaseline, type DriftResult } from "../functions/drift/compare.ts";
import { loadBaselineDir } from "../functions/drift/local-files.ts";
import { Profile } from "../functions/drift/profile.ts";
import { readCapture } from "../functions/drift/reader.ts";
import type { QuarantineEntry } from "../functions/drift/record.ts";
import { type DeviceSummary, renderReport } from "../functions/drift/report.ts";
import type { LocalEndpoint } from "../local/endpoint.ts";
import type { LoopClients } from "../local/fleet/loop.ts";
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
  /** s3:// URI of the stored result, when the analysis wrote one. */
  resultUri?: string;
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
 * Profiles every capture file the fleet wrote to the capture bucket with the drift domain
 * (reader → profile → compare with the baseline), for the fleet and for each device, and
 * writes the HTML report.
 * @example const drift = await analyzeFleetDrift(endpoint, clients);
 */
export async function analyzeFleetDrift(
  _endpoint: LocalEndpoint,
  clients: LoopClients,
  options: DriftAnalysisOptions = {},
): Promise<FleetDrift> {
  const baseline = await loadBaselineDir(options.baselineDir ?? join(repoRoot, "examples", "baseline"));
  const prefix = `${edgeConfig.capturePrefix.replace(/\/+$/, "")}/`;
  const profile = new Profile();
  const quarantine: QuarantineEntry[] = [];
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
        profile.consumer((q) => quarantine.push(q)),
      );
      profile.addCounts(counts);
      profile.sources.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const current = profile.rollup();
  if (!current) throw new Error(`no capture records under s3://${localResources.captureBucket}/${prefix}`);
  const fleet = compareToBaseline(baseline, current, profile.records);
  const devices = profile
    .groupList()
    .sort((a, b) => a.device.localeCompare(b.device))
    .map((g) => {
      const result = compareToBaseline(baseline, g, { total: g.records, valid: g.records, quarantined: 0 });
      return { device: g.device, records: g.records, result };
    });
  const summaries: DeviceSummary[] = devices.map((d) => {
    const distances = d.result.features
      .map((f) => f.distance)
      .filter((x): x is number => x !== null && Number.isFinite(x));
    return {
      device: d.device,
      records: d.records,
      drifted: d.result.features.filter((f) => f.drifted).map((f) => f.name),
      maxDistance: distances.length > 0 ? Math.max(...distances) : null,
    };
  });
  const reportDir = resolve(options.reportDir ?? join(".edge-mlops", "reports"));
  await mkdir(reportDir, { recursive: true });
  const reportPath = join(reportDir, `drift-${new Date().toISOString().replace(/[:.]/g, "-")}.html`);
  await writeFile(
    reportPath,
    await renderReport({ result: fleet, baseline, current, devices: summaries, quarantine }),
  );
  return {
    records: profile.records.valid,
    fleet: { features: cells(fleet), violations: fleet.violations.length },
    devices: devices.map((d) => ({ device: d.device, records: d.records, features: cells(d.result) })),
    reportPath,
  };
}
