import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalEndpoint, startLocalEndpoint } from "../../local/endpoint.ts";
import { deviceS3Client, tokenExchangeCredentials } from "../../local/fleet/credentials.ts";

// Devices get AWS credentials only from the token exchange endpoint, and only with the token.
let endpoint: LocalEndpoint;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-mlops-tes-"));
  endpoint = await startLocalEndpoint({
    port: 0,
    stateDir: dir,
    discover: false,
    buckets: ["capture"],
    credentialsToken: "device-token-1",
  });
});
afterAll(async () => {
  await endpoint?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("token exchange", () => {
  it("refuses a request without the token (401) and with a wrong one (403)", async () => {
    const none = await fetch(endpoint.credentials.fullUri);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ message: expect.stringMatching(/Authorization header/) });
    const wrong = await fetch(endpoint.credentials.fullUri, { headers: { Authorization: "device-token-2" } });
    expect(wrong.status).toBe(403);
    const right = await fetch(endpoint.credentials.fullUri, { headers: { Authorization: "device-token-1" } });
    expect(right.status).toBe(200);
    const body = (await right.json()) as { Expiration: string };
    expect(body).toEqual({
      AccessKeyId: expect.stringMatching(/^ASIA/),
      SecretAccessKey: expect.any(String),
      Token: expect.any(String),
      Expiration: expect.any(String),
    });
    expect(Date.parse(body.Expiration)).toBeGreaterThan(Date.now());
  });

  it("gives a device's SDK credentials through the container-credentials provider, and none without the token", async () => {
    const creds = await tokenExchangeCredentials({
      credentialsUri: endpoint.credentials.fullUri,
      token: "device-token-1",
    })();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    expect(creds.sessionToken).toBeTruthy();

    const device = deviceS3Client(endpoint.url, "us-east-1", {
      credentialsUri: endpoint.credentials.fullUri,
      token: "device-token-1",
    });
    await device.send(new PutObjectCommand({ Bucket: "capture", Key: "capture/f/m/x.jsonl", Body: "{}\n" }));
    const listed = await device.send(new ListObjectsV2Command({ Bucket: "capture", Prefix: "capture/" }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["capture/f/m/x.jsonl"]);

    const impostor = deviceS3Client(endpoint.url, "us-east-1", {
      credentialsUri: endpoint.credentials.fullUri,
      token: "stolen?",
    });
    await expect(
      impostor.send(new PutObjectCommand({ Bucket: "capture", Key: "capture/f/m/y.jsonl", Body: "{}\n" })),
    ).rejects.toThrow();
    const after = await device.send(new ListObjectsV2Command({ Bucket: "capture", Prefix: "capture/" }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(["capture/f/m/x.jsonl"]);
    device.destroy();
    impostor.destroy();
  });
});
