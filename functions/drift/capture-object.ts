import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { s3 as defaultS3 } from "../shared/clients.ts";
import { CaptureReadError } from "./errors.ts";
import { parseCaptureKey, profileKey, quarantineKey } from "./keys.ts";
import { Profile } from "./profile.ts";
import { type ReadCounts, readCapture } from "./reader.ts";
import type { QuarantineEntry } from "./record.ts";

export interface CaptureObject {
  bucket: string;
  key: string;
  etag: string;
}

export interface AnalyzeOptions {
  s3?: S3Client;
  resultsBucket: string;
  capturePrefix: string;
  /** Quarantined lines kept for the quarantine object; the counts stay exact beyond it. */
  maxQuarantine?: number;
}

export type AnalyzeOutcome =
  | {
      status: "analyzed";
      profileKey: string;
      quarantineKey?: string;
      model: string;
      fleet: string;
      counts: ReadCounts;
    }
  | { status: "duplicate"; profileKey: string }
  | { status: "superseded"; reason: string }
  | { status: "ignored"; reason: string };

const statusOf = (err: unknown) =>
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * Profiles one capture object and writes `profiles/<key>.<etag>.json` (and the quarantined lines
 * under `quarantine/`). Idempotent per key + ETag: when the profile exists the object is not read
 * again; the profile is written last, so a crash in between leaves nothing that looks done.
 * @example await analyzeCaptureObject({ bucket, key, etag }, { resultsBucket, capturePrefix: "capture/" });
 */
export async function analyzeCaptureObject(
  obj: CaptureObject,
  options: AnalyzeOptions,
): Promise<AnalyzeOutcome> {
  const s3 = options.s3 ?? defaultS3;
  const parsed = parseCaptureKey(obj.key, options.capturePrefix);
  if (parsed === undefined)
    return { status: "ignored", reason: `${obj.key} is not <prefix>/<fleet>/<model>/YYYY/MM/DD/HH/<file>` };
  const pKey = profileKey(obj.key, obj.etag);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: options.resultsBucket, Key: pKey }));
    return { status: "duplicate", profileKey: pKey };
  } catch (err) {
    // Without s3:ListBucket, S3 answers 403 for a missing key; re-analysing writes the same profile again, so both mean "not done yet".
    if (statusOf(err) !== 404 && statusOf(err) !== 403 && (err as Error).name !== "NotFound") throw err;
  }

  let body: AsyncIterable<Uint8Array>;
  try {
    // IfMatch pins the version the event announced; an overwrite has its own event and profile.
    const res = await s3.send(
      new GetObjectCommand({ Bucket: obj.bucket, Key: obj.key, IfMatch: `"${obj.etag}"` }),
    );
    body = res.Body as AsyncIterable<Uint8Array>;
  } catch (err) {
    if (statusOf(err) === 412)
      return { status: "superseded", reason: `${obj.key} changed since ETag ${obj.etag}` };
    if (statusOf(err) === 404 || (err as Error).name === "NoSuchKey")
      return { status: "superseded", reason: `${obj.key} no longer exists` };
    throw new CaptureReadError(`cannot get s3://${obj.bucket}/${obj.key}`, { cause: err });
  }

  const profile = new Profile();
  const kept: QuarantineEntry[] = [];
  const max = options.maxQuarantine ?? 10_000;
  const counts = await readCapture(
    body,
    obj.key,
    profile.consumer((q) => {
      if (kept.length < max) kept.push(q);
    }),
  );
  profile.addCounts(counts);
  profile.sources.push(`s3://${obj.bucket}/${obj.key}#${obj.etag}`);

  let qKey: string | undefined;
  if (counts.quarantined > 0) {
    qKey = quarantineKey(obj.key, obj.etag);
    const lines = kept.map((q) => JSON.stringify(q));
    if (counts.quarantined > kept.length)
      lines.push(
        JSON.stringify({
          file: obj.key,
          line: 0,
          reason: `${counts.quarantined - kept.length} more quarantined records not listed`,
        }),
      );
    await s3.send(
      new PutObjectCommand({
        Bucket: options.resultsBucket,
        Key: qKey,
        Body: `${lines.join("\n")}\n`,
        ContentType: "application/x-ndjson",
      }),
    );
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: options.resultsBucket,
      Key: pKey,
      Body: JSON.stringify(profile),
      ContentType: "application/json",
    }),
  );
  return {
    status: "analyzed",
    profileKey: pKey,
    ...(qKey === undefined ? {} : { quarantineKey: qKey }),
    model: parsed.model,
    fleet: parsed.fleet,
    counts,
  };
}
