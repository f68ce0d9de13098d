import type { CaptureObject } from "./capture-object.ts";
import { MalformedNotificationError } from "./errors.ts";
import { bareEtag, decodeS3Key } from "./keys.ts";

export type Notification = { kind: "test" } | { kind: "objects"; objects: CaptureObject[] };

/**
 * Reads an S3 event notification from an SQS message body. The s3:TestEvent S3 sends when the
 * notification is configured is recognised (nothing to do); only ObjectCreated records are kept.
 * @example parseS3Notification(record.body) // { kind: "objects", objects: [{ bucket, key, etag }] }
 */
export function parseS3Notification(body: string): Notification {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new MalformedNotificationError(`message body is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const d = doc as { Event?: unknown; Records?: unknown };
  if (d?.Event === "s3:TestEvent") return { kind: "test" };
  if (!Array.isArray(d?.Records))
    throw new MalformedNotificationError("message body has no S3 Records array");
  const objects: CaptureObject[] = [];
  d.Records.forEach((r: unknown, i: number) => {
    const rec = r as {
      eventName?: unknown;
      s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; eTag?: unknown } };
    };
    if (typeof rec?.eventName !== "string" || !rec.eventName.startsWith("ObjectCreated:")) return;
    const bucket = rec.s3?.bucket?.name;
    const key = rec.s3?.object?.key;
    const etag = rec.s3?.object?.eTag;
    if (typeof bucket !== "string" || typeof key !== "string" || typeof etag !== "string" || etag === "") {
      throw new MalformedNotificationError(
        `Records[${i}] lacks s3.bucket.name, s3.object.key or s3.object.eTag`,
      );
    }
    let decoded: string;
    try {
      decoded = decodeS3Key(key);
    } catch (err) {
      throw new MalformedNotificationError(`Records[${i}] key ${JSON.stringify(key)} is not URL-encoded`, {
        cause: err,
      });
    }
    objects.push({ bucket, key: decoded, etag: bareEtag(etag) });
  });
  return { kind: "objects", objects };
}
