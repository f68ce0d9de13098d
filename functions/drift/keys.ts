/** Key conventions shared by the two Lambdas (and documented for people browsing the buckets). */

export interface CaptureKey {
  fleet: string;
  model: string;
  /** "YYYY/MM/DD/HH" as written by the device. */
  hour: string;
  file: string;
}

const LAYOUT = /^([^/]+)\/([^/]+)\/(\d{4}\/\d{2}\/\d{2}\/\d{2})\/(.+)$/;

/**
 * Splits `<prefix>/<fleet>/<model>/YYYY/MM/DD/HH/<file>`; undefined when the key is not in that layout.
 * @example parseCaptureKey("capture/fleet-a/clf/2026/11/24/22/dev1.jsonl", "capture/") // { fleet: "fleet-a", model: "clf", hour: "2026/11/24/22", file: "dev1.jsonl" }
 */
export function parseCaptureKey(key: string, prefix: string): CaptureKey | undefined {
  const p = normalizePrefix(prefix);
  if (!key.startsWith(p)) return undefined;
  const m = LAYOUT.exec(key.slice(p.length));
  if (m === null) return undefined;
  return { fleet: m[1] as string, model: m[2] as string, hour: m[3] as string, file: m[4] as string };
}

/** "capture" and "capture/" both mean the folder; "" means the bucket root. */
export const normalizePrefix = (prefix: string) => (prefix === "" ? "" : `${prefix.replace(/\/+$/, "")}/`);

/** S3 event keys are form-encoded: '+' is a space, the rest percent-encoded. */
export const decodeS3Key = (key: string) => decodeURIComponent(key.replace(/\+/g, " "));

/** ETags arrive with or without quotes depending on the API; keys use the bare value. */
export const bareEtag = (etag: string) => etag.replace(/^"|"$/g, "");

/** Deterministic per (object key, ETag): a redelivered event finds the profile it already wrote. */
export const profileKey = (captureKey: string, etag: string) =>
  `profiles/${captureKey}.${bareEtag(etag)}.json`;
export const quarantineKey = (captureKey: string, etag: string) =>
  `quarantine/${captureKey}.${bareEtag(etag)}.jsonl`;

const PROFILE = /^profiles\/(.+)\.([0-9A-Za-z-]+)\.json$/;

/** The capture key and ETag a profile key was written for. */
export function parseProfileKey(key: string): { captureKey: string; etag: string } | undefined {
  const m = PROFILE.exec(key);
  return m === null ? undefined : { captureKey: m[1] as string, etag: m[2] as string };
}

/** Per-model baseline convention: s3://<RESULTS_BUCKET>/baselines/<model>/{statistics,constraints}.json */
export const baselineKeys = (model: string) => ({
  statistics: `baselines/${model}/statistics.json`,
  constraints: `baselines/${model}/constraints.json`,
});

/** Where one window's results for a model and fleet go. */
export const resultPrefix = (model: string, windowId: string, fleet: string) =>
  `results/${model}/${windowId}/${fleet}/`;
