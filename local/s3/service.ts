import { createHash, randomBytes } from "node:crypto";
import { IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { StreamingServiceHandler } from "../server/http.ts";
import { internal, internalConfig } from "../server/internal-clients.ts";
import type { CredentialScope } from "../server/sigv4.ts";
import type { LocalContext, ObjectStoreApi, S3ObjectCreatedRecord } from "../server/types.ts";
import { decodeAwsChunked, isAwsChunked } from "./chunked.ts";
import { groupByDelimiter, type ListingStore } from "./delimiter-listing.ts";

const require = createRequire(import.meta.url);

interface S3rverRecord {
  eventName: string;
  eventTime: string;
  requestParameters: { sourceIPAddress: string };
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } };
}
interface S3rverStore extends ListingStore {
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
}
interface S3rverApp {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: "event", listener: (event: { Records: S3rverRecord[] }) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  configureBuckets(): Promise<void>;
  store: S3rverStore;
  logger: { close(): void; exceptions: { unhandle(): void } };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverApp;
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secret: string): void };
  registry: Map<string, unknown>;
}

/** S3's event key encoding: form-URL-encoded, slashes kept, spaces as "+". */
export const encodeEventKey = (key: string) =>
  encodeURIComponent(key)
    .replace(/%2F/g, "/")
    .replace(/%20/g, "+")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Subscription {
  bucket: string;
  prefix: string;
  listener: (record: S3ObjectCreatedRecord) => void | Promise<void>;
}

/**
 * S3 (restXml, path-style) served by s3rver in-process, mounted behind the router: any access key
 * is accepted, aws-chunked uploads are decoded first, and ObjectCreated events reach in-process
 * subscribers with AWS's record shape.
 */
export class S3Service implements StreamingServiceHandler, ObjectStoreApi {
  readonly services = ["s3"];
  readonly protocol = "restXml" as const;
  private readonly app: S3rverApp;
  private readonly koa: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly accounts: AccountModule;
  private readonly subscriptions = new Set<Subscription>();
  private readonly pending = new Set<Promise<void>>();
  private readonly client: S3Client;
  /** Listener failures, kept so one bad subscriber never breaks uploads and tests can see them. */
  readonly listenerErrors: { record: S3ObjectCreatedRecord; error: string }[] = [];

  constructor(
    private readonly context: LocalContext,
    buckets: string[] = [],
  ) {
    const S3rver = require("s3rver") as S3rverClass;
    this.accounts = require("s3rver/lib/models/account") as AccountModule;
    this.app = new S3rver({
      directory: context.stateDir,
      silent: true,
      vhostBuckets: false,
      allowMismatchedSignatures: true,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    groupByDelimiter(this.app.store);
    this.app.on("event", (event) => {
      for (const record of event.Records) this.deliver(record);
    });
    this.app.on("error", () => {
      // s3rver reports client errors (NoSuchKey, …) here as well; they are already in the response.
    });
    this.koa = this.app.callback();
    this.client = internal(
      new S3Client(
        internalConfig(context.endpointUrl ?? "http://127.0.0.1:4566", context.region, {
          forcePathStyle: true,
          requestChecksumCalculation: "WHEN_REQUIRED" as const,
          responseChecksumValidation: "WHEN_REQUIRED" as const,
        }),
      ),
    );
  }

  async start(): Promise<void> {
    await this.app.configureBuckets();
  }

  async handle(): Promise<never> {
    throw new Error("S3 requests are streamed through handleRaw");
  }

  async handleRaw(req: IncomingMessage, res: ServerResponse, scope: CredentialScope): Promise<void> {
    // s3rver knows one key pair; registering the caller's key lets any dummy credentials in.
    if (!this.accounts.registry.has(scope.accessKeyId))
      this.accounts.DUMMY_ACCOUNT.createKeyPair(scope.accessKeyId, "any");
    const request = isAwsChunked(req.headers) ? await this.dechunk(req) : req;
    await new Promise<void>((resolve) => {
      res.once("finish", resolve);
      res.once("close", resolve);
      this.koa(request, res);
    });
  }

  private async dechunk(req: IncomingMessage): Promise<IncomingMessage> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = decodeAwsChunked(Buffer.concat(chunks));
    const plain = new IncomingMessage(req.socket);
    plain.method = req.method ?? "PUT";
    plain.url = req.url ?? "/";
    plain.httpVersion = req.httpVersion;
    const headers = { ...req.headers };
    const encoding = String(headers["content-encoding"] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e && e !== "aws-chunked");
    if (encoding.length > 0) headers["content-encoding"] = encoding.join(",");
    else delete headers["content-encoding"];
    delete headers["x-amz-decoded-content-length"];
    delete headers["x-amz-trailer"];
    delete headers["transfer-encoding"];
    headers["content-length"] = String(body.length);
    headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    plain.headers = headers;
    plain.push(body);
    plain.push(null);
    return plain;
  }

  private deliver(raw: S3rverRecord): void {
    if (!raw.eventName.startsWith("ObjectCreated:")) return;
    const bucket = raw.s3.bucket.name;
    const key = raw.s3.object.key;
    const matching = [...this.subscriptions].filter((s) => s.bucket === bucket && key.startsWith(s.prefix));
    if (matching.length === 0) return;
    const work = (async () => {
      const metadata = await this.app.store
        .getMetadata(bucket, key)
        .catch(() => ({}) as Record<string, string>);
      const eTag = (raw.s3.object.eTag ?? metadata.etag ?? "").replace(/"/g, "");
      const size = raw.s3.object.size ?? Number(metadata["content-length"] ?? 0);
      const record: S3ObjectCreatedRecord = {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: this.context.region,
        eventTime: this.context.clock.now().toISOString(),
        // s3rver names a completed multipart upload "Post"; S3 names it CompleteMultipartUpload.
        eventName:
          raw.eventName === "ObjectCreated:Post" ? "ObjectCreated:CompleteMultipartUpload" : raw.eventName,
        userIdentity: { principalId: "AWS:EDGEMLOPSLOCAL" },
        requestParameters: { sourceIPAddress: raw.requestParameters.sourceIPAddress || "127.0.0.1" },
        responseElements: {
          "x-amz-request-id": randomBytes(8).toString("hex").toUpperCase(),
          "x-amz-id-2": createHash("sha256").update(key).digest("base64"),
        },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "edge-mlops-local",
          bucket: {
            name: bucket,
            ownerIdentity: { principalId: "EDGEMLOPSLOCAL" },
            arn: `arn:aws:s3:::${bucket}`,
          },
          object: { key: encodeEventKey(key), size, eTag, sequencer: raw.s3.object.sequencer },
        },
      };
      for (const s of matching) {
        try {
          await s.listener(structuredClone(record));
        } catch (error) {
          this.listenerErrors.push({ record, error: error instanceof Error ? error.message : String(error) });
        }
      }
    })();
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  onObjectCreated(bucket: string, prefix: string, listener: Subscription["listener"]): () => void {
    const subscription = { bucket, prefix, listener };
    this.subscriptions.add(subscription);
    return () => this.subscriptions.delete(subscription);
  }

  async getObject(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      if (
        (error as { name?: string }).name === "NoSuchKey" ||
        (error as { name?: string }).name === "NoSuchBucket"
      )
        return undefined;
      throw error;
    }
  }

  async putObject(
    bucket: string,
    key: string,
    body: Buffer,
    contentType?: string,
  ): Promise<{ eTag: string }> {
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ...(contentType ? { ContentType: contentType } : {}),
      }),
    );
    return { eTag: (out.ETag ?? "").replace(/"/g, "") };
  }

  async createBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
    }
  }

  /** Waits for in-flight event deliveries (used on shutdown and by tests). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.drain();
    this.client.destroy();
    this.app.logger.exceptions.unhandle();
    this.app.logger.close();
  }
}
