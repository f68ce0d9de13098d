import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3ObjectCreatedRecord } from "../../local/server/types.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint } from "./helpers.ts";

describe("local S3", () => {
  let ep: TestEndpoint;
  const records: S3ObjectCreatedRecord[] = [];

  beforeAll(async () => {
    ep = await startTestEndpoint({ buckets: ["preset"] });
    ep.s3.onObjectCreated("data", "capture/", (r) => {
      records.push(r);
    });
  });
  afterAll(() => ep.dispose());

  it("creates buckets, puts, heads, gets, lists, copies and deletes objects", async () => {
    const s3 = ep.clients.s3;
    await s3.send(new CreateBucketCommand({ Bucket: "data" }));
    await s3.send(
      new PutObjectCommand({ Bucket: "data", Key: "a/one.txt", Body: "hello", ContentType: "text/plain" }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "a/one.txt" }));
    expect(head.ContentLength).toBe(5);
    expect(head.ContentType).toBe("text/plain");
    const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "a/one.txt" }));
    expect(await got.Body?.transformToString()).toBe("hello");
    await s3.send(new CopyObjectCommand({ Bucket: "data", Key: "b/two.txt", CopySource: "data/a/one.txt" }));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "b/" }));
    expect(list.Contents?.map((o) => o.Key)).toEqual(["b/two.txt"]);
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "b/two.txt" }));
    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: "data",
        Delete: { Objects: [{ Key: "a/one.txt" }, { Key: "missing" }] },
      }),
    );
    expect(deleted.Deleted?.map((d) => d.Key).sort()).toEqual(["a/one.txt", "missing"]);
    const empty = await s3.send(new ListObjectsV2Command({ Bucket: "data" }));
    expect(empty.KeyCount).toBe(0);
    await expect(s3.send(new GetObjectCommand({ Bucket: "data", Key: "a/one.txt" }))).rejects.toMatchObject({
      name: "NoSuchKey",
    });
    await expect(
      s3.send(new PutObjectCommand({ Bucket: "preset", Key: "x", Body: "1" })),
    ).resolves.toBeDefined();
  });

  it("groups keys nested several levels below the prefix into common prefixes, as S3 does", async () => {
    const s3 = ep.clients.s3;
    for (const key of ["tree/a/b/c/d.json", "tree/a/x.json", "tree/e/f/g.json", "tree/top.json"])
      await s3.send(new PutObjectCommand({ Bucket: "preset", Key: key, Body: "{}" }));
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "preset", Prefix: "tree/", Delimiter: "/" }),
    );
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["tree/a/", "tree/e/"]);
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["tree/top.json"]);
    const deeper = await s3.send(
      new ListObjectsV2Command({ Bucket: "preset", Prefix: "tree/a/", Delimiter: "/" }),
    );
    expect(deeper.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["tree/a/b/"]);
    expect(deeper.Contents?.map((o) => o.Key)).toEqual(["tree/a/x.json"]);
  });

  it("decodes aws-chunked uploads from a client with default checksum settings", async () => {
    const s3 = new S3Client({ endpoint: ep.url, region, credentials, forcePathStyle: true });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "chunked" }));
      const body = Buffer.alloc(70_000, 7);
      await s3.send(new PutObjectCommand({ Bucket: "chunked", Key: "k", Body: body }));
      const got = await s3.send(new GetObjectCommand({ Bucket: "chunked", Key: "k" }));
      expect(Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()))).toEqual(body);
    } finally {
      s3.destroy();
    }
  });

  it("completes a multipart upload", async () => {
    const body = Buffer.alloc(11 * 1024 * 1024, 3);
    await new Upload({
      client: ep.clients.s3,
      params: { Bucket: "data", Key: "big.bin", Body: body },
      partSize: 5 * 1024 * 1024,
    }).done();
    const head = await ep.clients.s3.send(new HeadObjectCommand({ Bucket: "data", Key: "big.bin" }));
    expect(head.ContentLength).toBe(body.length);
  });

  it("delivers ObjectCreated records with AWS's shape to subscribers of the prefix", async () => {
    records.length = 0;
    await ep.clients.s3.send(
      new PutObjectCommand({ Bucket: "data", Key: "capture/fleet a/x.jsonl", Body: "{}\n" }),
    );
    await ep.clients.s3.send(new PutObjectCommand({ Bucket: "data", Key: "other/y.jsonl", Body: "{}\n" }));
    await ep.s3.drain();
    expect(records).toHaveLength(1);
    const record = records[0] as S3ObjectCreatedRecord;
    expect(record).toMatchObject({
      eventSource: "aws:s3",
      eventName: "ObjectCreated:Put",
      awsRegion: region,
      s3: {
        bucket: { name: "data", arn: "arn:aws:s3:::data" },
        object: { key: "capture/fleet+a/x.jsonl", size: 3 },
      },
    });
    expect(record.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);

    records.length = 0;
    await ep.clients.s3.send(
      new CopyObjectCommand({
        Bucket: "data",
        Key: "capture/copy.jsonl",
        CopySource: "data/capture/fleet a/x.jsonl",
      }),
    );
    await new Upload({
      client: ep.clients.s3,
      params: { Bucket: "data", Key: "capture/multi.jsonl", Body: Buffer.alloc(6 * 1024 * 1024, 1) },
      partSize: 5 * 1024 * 1024,
    }).done();
    await ep.s3.drain();
    expect(records.map((r) => [r.eventName, r.s3.object.key, r.s3.object.size])).toEqual([
      ["ObjectCreated:Copy", "capture/copy.jsonl", 3],
      ["ObjectCreated:CompleteMultipartUpload", "capture/multi.jsonl", 6 * 1024 * 1024],
    ]);
    expect(records[0]?.s3.object.eTag).toBe(record.s3.object.eTag);
  });

  it("routes presigned URLs by their X-Amz-Credential scope", async () => {
    await ep.clients.s3.send(new PutObjectCommand({ Bucket: "data", Key: "presigned.txt", Body: "signed" }));
    const now = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
    const query = new URLSearchParams({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `AKIDLOCALTEST/${now.slice(0, 8)}/us-east-1/s3/aws4_request`,
      "X-Amz-Date": now,
      "X-Amz-Expires": "900",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "0".repeat(64),
    });
    const response = await fetch(`${ep.url}/data/presigned.txt?${query}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("signed");
  });

  it("answers an unsigned request and an unserved service with clear errors", async () => {
    const unsigned = await fetch(`${ep.url}/data`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });
    const other = await fetch(`${ep.url}/`, {
      method: "POST",
      headers: {
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=x",
      },
    });
    expect(other.status).toBe(501);
    expect(((await other.json()) as { message: string }).message).toContain(
      'does not serve the "kinesis" service',
    );
  });
});
