import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { errorName } from "../shared/errors.ts";
import { PackagingFailedError } from "./errors.ts";

/** Metadata key holding the base64 SHA-256 on copied artifacts, so a retry does not read the object again. */
export const SHA256_METADATA = "edge-mlops-sha256";

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new PackagingFailedError(`not an s3://bucket/key URI: ${uri}`);
  return { bucket: match[1] as string, key: match[2] as string };
}

export interface StagedArtifact {
  uri: string;
  /** base64 SHA-256 of the bytes, as Greengrass recipes want it. */
  sha256: string;
  size: number;
}

/**
 * Puts the compiled artifact at a deterministic key in the artifact bucket and returns its SHA-256.
 * The source is streamed once through the hash (constant memory whatever the model size), then
 * copied server-side on the condition that it did not change in between. An artifact already staged
 * with its digest is reused, so retries cost one HeadObject.
 */
export async function stageArtifact(
  s3: S3Client,
  sourceUri: string,
  bucket: string,
  key: string,
): Promise<StagedArtifact> {
  const uri = `s3://${bucket}/${key}`;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const digest = head.Metadata?.[SHA256_METADATA];
    if (digest) return { uri, sha256: digest, size: head.ContentLength ?? 0 };
  } catch (error) {
    if (errorName(error) !== "NotFound" && errorName(error) !== "NoSuchKey") throw error;
  }
  const source = parseS3Uri(sourceUri);
  const object = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }));
  if (!object.Body) throw new PackagingFailedError(`compiled artifact ${sourceUri} has no body`);
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of object.Body as Readable) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const sha256 = hash.digest("base64");
  await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: key,
      CopySource: `${source.bucket}/${source.key.split("/").map(encodeURIComponent).join("/")}`,
      ...(object.ETag ? { CopySourceIfMatch: object.ETag } : {}),
      MetadataDirective: "REPLACE",
      Metadata: { [SHA256_METADATA]: sha256 },
      ContentType: object.ContentType ?? "application/octet-stream",
    }),
  );
  return { uri, sha256, size };
}
