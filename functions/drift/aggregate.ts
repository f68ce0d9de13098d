import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { EDGE_MLOPS_SOURCE, EdgeMlopsDetailType } from "../../events/patterns.ts";
import { eventBridge as defaultEventBridge, s3 as defaultS3 } from "../shared/clients.ts";
import { type Baseline, readBaseline, statisticsJson } from "./baseline.ts";
import { compareToBaseline, type DriftResult } from "./compare.ts";
import { BaselineError, ProfileFormatError } from "./errors.ts";
import { baselineKeys, normalizePrefix, parseProfileKey, resultPrefix } from "./keys.ts";
import { emit, type MetricValue } from "./metrics.ts";
import { Profile } from "./profile.ts";
import { type DeviceSummary, deviceBreakdown, renderReport } from "./report.ts";
import { violationsJson } from "./result.ts";
import { type DriftWindow, windowLabel } from "./window.ts";

export interface AggregateDeps {
  s3?: S3Client;
  eventBridge?: EventBridgeClient;
  metrics?: Metrics;
  resultsBucket: string;
  capturePrefix: string;
  eventBusName: string;
}

export interface FleetOutcome {
  model: string;
  fleet: string;
  status: "written" | "unchanged" | "no-baseline" | "failed";
  /** Profiles that could not be read or parsed: left out of the merge, listed in drift.json. */
  skippedProfiles?: { key: string; reason: string }[];
  profiles: number;
  records?: number;
  drifted?: boolean;
  eventSent?: boolean;
  resultKey?: string;
  reason?: string;
}

const statusOf = (err: unknown) =>
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

async function listAll(s3: S3Client, bucket: string, prefix: string, delimiter?: string) {
  const keys: { key: string; lastModified: number }[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        Delimiter: delimiter,
        ContinuationToken: token,
      }),
    );
    for (const o of res.Contents ?? [])
      if (o.Key !== undefined) keys.push({ key: o.Key, lastModified: o.LastModified?.getTime() ?? 0 });
    for (const p of res.CommonPrefixes ?? []) if (p.Prefix !== undefined) prefixes.push(p.Prefix);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token !== undefined);
  return { keys, prefixes };
}

async function getJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await (res.Body as { transformToString(): Promise<string> }).transformToString();
  return JSON.parse(text);
}

async function getJsonIfExists(s3: S3Client, bucket: string, key: string): Promise<unknown | undefined> {
  try {
    return await getJson(s3, bucket, key);
  } catch (err) {
    const status = statusOf(err);
    if (status === 404 || status === 403 || (err as Error).name === "NoSuchKey") return undefined;
    throw err;
  }
}

/**
 * Profiles of the window, grouped by model and fleet: the newest profile per capture key (an
 * overwritten capture file leaves an older profile behind under its old ETag).
 */
export async function windowProfiles(
  s3: S3Client,
  bucket: string,
  capturePrefix: string,
  window: DriftWindow,
) {
  const root = `profiles/${normalizePrefix(capturePrefix)}`;
  const out = new Map<string, { model: string; fleet: string; keys: string[] }>();
  for (const fleetPrefix of (await listAll(s3, bucket, root, "/")).prefixes) {
    const fleet = fleetPrefix.slice(root.length, -1);
    for (const modelPrefix of (await listAll(s3, bucket, fleetPrefix, "/")).prefixes) {
      const model = modelPrefix.slice(fleetPrefix.length, -1);
      const newest = new Map<string, { key: string; lastModified: number }>();
      for (const hour of window.hourPaths) {
        for (const o of (await listAll(s3, bucket, `${modelPrefix}${hour}/`)).keys) {
          const parsed = parseProfileKey(o.key);
          if (parsed === undefined) continue;
          const seen = newest.get(parsed.captureKey);
          if (seen === undefined || o.lastModified > seen.lastModified) newest.set(parsed.captureKey, o);
        }
      }
      if (newest.size > 0)
        out.set(`${model}\u0000${fleet}`, {
          model,
          fleet,
          keys: [...newest.values()].map((o) => o.key).sort(),
        });
    }
  }
  return [...out.values()].sort((a, b) => (a.model + a.fleet < b.model + b.fleet ? -1 : 1));
}

export async function loadBaseline(
  s3: S3Client,
  bucket: string,
  model: string,
): Promise<Baseline | undefined> {
  const keys = baselineKeys(model);
  const [stats, cons] = await Promise.all([
    getJsonIfExists(s3, bucket, keys.statistics),
    getJsonIfExists(s3, bucket, keys.constraints),
  ]);
  if (stats === undefined || cons === undefined) return undefined;
  return readBaseline(stats, cons);
}

/** Profiles downloaded ahead of the merge: S3 latency, not parsing, dominates a window of many small files. */
const PROFILE_FETCH_CONCURRENCY = 8;

/**
 * Yields [key, pending result] in key order while keeping up to `width` fetches in flight. Each
 * pending result has a no-op catch attached so a failure surfaces where it is awaited, in order.
 */
async function* prefetched<T>(
  keys: readonly string[],
  width: number,
  fetch: (key: string) => Promise<T>,
): AsyncGenerator<[string, Promise<T>]> {
  const inFlight: [string, Promise<T>][] = [];
  let next = 0;
  const fill = () => {
    while (inFlight.length < width && next < keys.length) {
      const key = keys[next++] as string;
      const p = fetch(key);
      p.catch(() => {});
      inFlight.push([key, p]);
    }
  };
  fill();
  while (inFlight.length > 0) {
    const head = inFlight.shift() as [string, Promise<T>];
    await head[1].catch(() => {});
    fill();
    yield head;
  }
}

/** Drift result document (drift.json): the fleet result plus per-device summaries and provenance. */
export interface DriftDocument extends DriftResult {
  window: { id: string; start: string; end: string };
  baseline: string;
  /** Profile keys merged, sorted: a rerun over the same inputs is recognised and skipped. */
  inputs: string[];
  skippedProfiles: { key: string; reason: string }[];
  devices: (DeviceSummary & { violations: number })[];
}

/**
 * aggregate-drift's work: for each model and fleet with profiles in the window, merge them (per fleet
 * and per device), compare with the model's baseline, write constraint_violations.json, drift.json,
 * statistics.json and report.html under results/<model>/<window>/<fleet>/, publish metrics, and put a
 * ModelDriftDetected event when a drift threshold is crossed. Rerunning over unchanged inputs writes
 * nothing and sends no second event.
 */
export async function aggregateDrift(window: DriftWindow, deps: AggregateDeps): Promise<FleetOutcome[]> {
  const s3 = deps.s3 ?? defaultS3;
  const groups = await windowProfiles(s3, deps.resultsBucket, deps.capturePrefix, window);
  const baselines = new Map<string, Baseline | undefined>();
  const outcomes: FleetOutcome[] = [];
  const unreadable = new Map<string, string>();
  for (const { model, fleet, keys } of groups) {
    if (!baselines.has(model) && !unreadable.has(model)) {
      try {
        baselines.set(model, await loadBaseline(s3, deps.resultsBucket, model));
      } catch (err) {
        unreadable.set(
          model,
          new BaselineError(`baseline of ${model} is unreadable: ${(err as Error).message}`, { cause: err })
            .message,
        );
      }
    }
    // One model's broken baseline or one fleet's failure must not hold back the others.
    const broken = unreadable.get(model);
    if (broken !== undefined) {
      outcomes.push({ model, fleet, status: "failed", profiles: keys.length, reason: broken });
      continue;
    }
    const baseline = baselines.get(model);
    if (baseline === undefined) {
      const k = baselineKeys(model);
      outcomes.push({
        model,
        fleet,
        status: "no-baseline",
        profiles: keys.length,
        reason: `no s3://${deps.resultsBucket}/${k.statistics} and ${k.constraints}`,
      });
      continue;
    }
    try {
      outcomes.push(await aggregateFleet(model, fleet, keys, baseline, window, deps, s3));
    } catch (err) {
      outcomes.push({
        model,
        fleet,
        status: "failed",
        profiles: keys.length,
        reason: (err as Error).message,
      });
    }
  }
  return outcomes;
}

async function aggregateFleet(
  model: string,
  fleet: string,
  keys: string[],
  baseline: Baseline,
  window: DriftWindow,
  deps: AggregateDeps,
  s3: S3Client,
): Promise<FleetOutcome> {
  const prefix = resultPrefix(model, window.id, fleet);
  const driftKey = `${prefix}drift.json`;
  const previous = (await getJsonIfExists(s3, deps.resultsBucket, driftKey)) as
    | Partial<DriftDocument>
    | undefined;
  if (previous !== undefined && JSON.stringify(previous.inputs) === JSON.stringify(keys)) {
    return {
      model,
      fleet,
      status: "unchanged",
      profiles: keys.length,
      resultKey: driftKey,
      drifted: previous.drifted === true,
    };
  }

  // Merge one profile at a time: memory stays at one merged profile whatever the window holds.
  const merged = new Profile();
  const skippedProfiles: { key: string; reason: string }[] = [];
  for await (const [key, doc] of prefetched(keys, PROFILE_FETCH_CONCURRENCY, (k) =>
    getJson(s3, deps.resultsBucket, k),
  )) {
    let profile: Profile;
    try {
      profile = Profile.fromJSON(await doc);
    } catch (err) {
      // A corrupt profile is set aside (and listed), the rest of the window still counts.
      if (err instanceof SyntaxError || err instanceof ProfileFormatError) {
        skippedProfiles.push({ key, reason: err.message });
        continue;
      }
      throw err;
    }
    merged.merge(profile);
  }
  const fleetGroup = merged.rollup((g) => g.model === model && g.fleet === fleet) ?? merged.rollup();
  if (fleetGroup === undefined)
    return { model, fleet, status: "unchanged", profiles: keys.length, reason: "profiles hold no records" };
  const result = compareToBaseline(baseline, fleetGroup, merged.records);

  const breakdown = deviceBreakdown(baseline, merged);
  const devices: DriftDocument["devices"] = breakdown.devices;

  const k = baselineKeys(model);
  const doc: DriftDocument = {
    ...result,
    window: { id: window.id, start: window.start.toISOString(), end: window.end.toISOString() },
    baseline: `s3://${deps.resultsBucket}/${k.statistics}`,
    inputs: keys,
    skippedProfiles,
    devices,
  };
  const put = (name: string, body: string, contentType: string) =>
    s3.send(
      new PutObjectCommand({
        Bucket: deps.resultsBucket,
        Key: `${prefix}${name}`,
        Body: body,
        ContentType: contentType,
      }),
    );
  const html = await renderReport({
    result,
    baseline,
    current: fleetGroup,
    window: windowLabel(window),
    devices,
    deviceProfiles: breakdown.deviceProfiles,
  });
  await put(
    "constraint_violations.json",
    `${JSON.stringify(violationsJson(result), null, 2)}\n`,
    "application/json",
  );
  await put(
    "statistics.json",
    JSON.stringify(statisticsJson(fleetGroup.features(), fleetGroup.records)),
    "application/json",
  );
  await put("report.html", html, "text/html; charset=utf-8");

  if (deps.metrics !== undefined) publishMetrics(deps.metrics, doc);
  let eventSent = false;
  if (result.drifted) {
    await sendDriftEvent(doc, `s3://${deps.resultsBucket}/${prefix}`, deps);
    eventSent = true;
  }
  // drift.json last: its presence with these inputs is what marks the window as done.
  await put("drift.json", `${JSON.stringify(doc, null, 2)}\n`, "application/json");
  return {
    model,
    fleet,
    status: "written",
    profiles: keys.length,
    records: result.records.total,
    drifted: result.drifted,
    eventSent,
    resultKey: driftKey,
    ...(skippedProfiles.length > 0 ? { skippedProfiles } : {}),
  };
}

function publishMetrics(m: Metrics, doc: DriftDocument): void {
  const dims = { model: doc.model, fleet: doc.fleet };
  emit(m, dims, [
    ["Records", MetricUnit.Count, doc.records.total],
    ["RecordsQuarantined", MetricUnit.Count, doc.records.quarantined],
    ["DriftedFeatures", MetricUnit.Count, doc.features.filter((f) => f.drifted).length],
    ["ConstraintViolations", MetricUnit.Count, doc.violations.length],
  ]);
  for (const f of doc.features) {
    if (f.distance === null) continue;
    emit(m, { ...dims, feature: f.name }, [
      [f.method === "ChiSquared" ? "DriftPValue" : "DriftDistance", MetricUnit.NoUnit, f.distance],
    ]);
  }
  for (const d of doc.devices) {
    emit(m, { ...dims, device: d.device }, [
      ["Records", MetricUnit.Count, d.records],
      ["DriftedFeatures", MetricUnit.Count, d.drifted.length],
      ...(d.maxDistance === null
        ? []
        : [["MaxDriftDistance", MetricUnit.NoUnit, d.maxDistance] as MetricValue]),
    ]);
  }
}

/** Detail of ModelDriftDetected (source edge-mlops). */
export interface ModelDriftDetectedDetail {
  model: string;
  fleet: string;
  window: DriftDocument["window"];
  records: DriftResult["records"];
  driftedFeatures: {
    name: string;
    kind: string;
    method: string;
    distance: number | null;
    threshold: number;
  }[];
  violations: number;
  driftedDevices: string[];
  results: string;
  report: string;
}

async function sendDriftEvent(doc: DriftDocument, location: string, deps: AggregateDeps): Promise<void> {
  const detail: ModelDriftDetectedDetail = {
    model: doc.model,
    fleet: doc.fleet,
    window: doc.window,
    records: doc.records,
    driftedFeatures: doc.features
      .filter((f) => f.drifted)
      .map(({ name, kind, method, distance, threshold }) => ({ name, kind, method, distance, threshold })),
    violations: doc.violations.length,
    driftedDevices: doc.devices.filter((d) => d.drifted.length > 0).map((d) => d.device),
    results: location,
    report: `${location}report.html`,
  };
  const eb = deps.eventBridge ?? defaultEventBridge;
  const res = await eb.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: deps.eventBusName,
          Source: EDGE_MLOPS_SOURCE,
          DetailType: EdgeMlopsDetailType.ModelDriftDetected,
          Detail: JSON.stringify(detail),
          Resources: [],
        },
      ],
    }),
  );
  if ((res.FailedEntryCount ?? 0) > 0) {
    const e = res.Entries?.[0];
    throw new Error(
      `PutEvents rejected ModelDriftDetected: ${e?.ErrorCode ?? "unknown"} ${e?.ErrorMessage ?? ""}`.trim(),
    );
  }
}
