import { randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

/** Where capture batches go: an S3 bucket (CaptureDataDestination "Cloud") or a folder ("Disk"). */
export interface CaptureSink {
  /** Writes one object; must be idempotent, as a retried batch is written again under the same key. */
  write(key: string, body: string | Uint8Array, contentType: string): Promise<void>;
  /** How a record refers to an object written here (`data-ref`). */
  uri(key: string): string;
}

export class S3CaptureSink implements CaptureSink {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async write(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}

/** Writes through a temporary name and renames, so a reader never sees half a batch. */
export class DiskCaptureSink implements CaptureSink {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async write(key: string, body: string | Uint8Array): Promise<void> {
    const path = resolve(this.root, key);
    // Keys come from model and fleet names; refuse anything that would land outside the root.
    if (!path.startsWith(this.root + sep)) throw new RangeError(`capture key ${key} escapes ${this.root}`);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, path);
  }

  uri(key: string): string {
    return join(this.root, key);
  }
}

/**
 * The S3 client capture uses. Credentials come from the SDK's default chain — on a Greengrass
 * device the token exchange service (AWS_CONTAINER_CREDENTIALS_FULL_URI +
 * AWS_CONTAINER_AUTHORIZATION_TOKEN); the endpoint from AWS_ENDPOINT_URL(_S3) when set.
 * Retries are the capture queue's (it counts them), so the client makes one attempt, and
 * short timeouts keep a black-holed endpoint from holding a batch for minutes.
 */
export function createCaptureS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    maxAttempts: 1,
    forcePathStyle: Boolean(endpoint),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000 },
  });
}
