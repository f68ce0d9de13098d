import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
  GreengrassV2Client,
} from "@aws-sdk/client-greengrassv2";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceCredentialsOf } from "../../local/credentials/attach.ts";
import { accessKeyIdFor } from "../../local/credentials/device-tokens.ts";
import { type LocalEndpoint, startLocalEndpoint } from "../../local/endpoint.ts";
import { deviceS3Client, tokenExchangeCredentials, tokenExchangeEnv } from "../../local/fleet/credentials.ts";
import { type LocalFleet, startLocalFleet } from "../../local/fleet/index.ts";
import { configureFlow, localResources } from "../../local/wiring.ts";

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

describe("token exchange, one token per device", () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  /** The access key id the request was signed with, read after signing, before it is sent. */
  const signedKeyIds = (client: S3Client) => {
    const seen: string[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const auth = (args.request as { headers?: Record<string, string> }).headers?.authorization ?? "";
        seen.push(/Credential=([^/]+)\//.exec(auth)?.[1] ?? "");
        return next(args);
      },
      { step: "deserialize", name: "recordSignedKeyId" },
    );
    return seen;
  };

  it("a device's S3 upload through the SDK default chain works with its token and is attributed to it; a revoked device's is refused", async () => {
    const tes = deviceCredentialsOf(endpoint);
    const token = tes.issueDeviceToken("edge-device-042");
    const other = tes.issueDeviceToken("edge-device-043");
    tes.revokeDeviceToken("edge-device-043");

    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
      delete process.env[k];
    process.env.AWS_CONFIG_FILE = join(dir, "no-config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "no-credentials");
    // What a nucleus gives its component process: the SDK's default chain finds these.
    Object.assign(process.env, tokenExchangeEnv({ credentialsUri: endpoint.credentials.fullUri, token }));
    const device = new S3Client({ endpoint: endpoint.url, region: "us-east-1", forcePathStyle: true });
    const keys = signedKeyIds(device);
    try {
      await device.send(
        new PutObjectCommand({ Bucket: "capture", Key: "capture/f/m/d42.jsonl", Body: "{}\n" }),
      );
    } finally {
      device.destroy();
    }
    expect(keys).toEqual([accessKeyIdFor("edge-device-042")]);
    expect(tes.principalOf(keys[0] as string)).toBe("edge-device-042");
    // The endpoint's own request log names the device too (what `GET /_edge-mlops/requests/callers` serves).
    const callers = (await (await fetch(`${endpoint.url}/_edge-mlops/requests/callers`)).json()) as Record<
      string,
      Record<string, number>
    >;
    expect(callers["edge-device-042"]).toEqual({ "s3:PUT capture": 1 });
    expect(tes.vended().filter((v) => v.principal === "edge-device-042")).toEqual([
      {
        principal: "edge-device-042",
        accessKeyId: accessKeyIdFor("edge-device-042"),
        at: expect.any(String),
      },
    ]);

    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = other;
    const revoked = new S3Client({ endpoint: endpoint.url, region: "us-east-1", forcePathStyle: true });
    try {
      await expect(
        revoked.send(new PutObjectCommand({ Bucket: "capture", Key: "capture/f/m/d43.jsonl", Body: "{}\n" })),
      ).rejects.toThrow();
    } finally {
      revoked.destroy();
    }
    expect(tes.vended().some((v) => v.principal === "edge-device-043")).toBe(false);
    const operator = deviceS3Client(endpoint.url, "us-east-1", {
      credentialsUri: endpoint.credentials.fullUri,
      token: "device-token-1",
    });
    const listed = await operator.send(
      new ListObjectsV2Command({ Bucket: "capture", Prefix: "capture/f/m/d4" }),
    );
    operator.destroy();
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["capture/f/m/d42.jsonl"]);
  });
});

async function until(done: () => Promise<boolean>, message: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the simulated fleet's credentials", () => {
  it("gives each device its own token: each downloads its artifacts with credentials vended to it", async () => {
    configureFlow({ autoSchedules: false });
    const stateDir = await mkdtemp(join(tmpdir(), "edge-mlops-tes-fleet-"));
    const ep = await startLocalEndpoint({ port: 0, stateDir, reset: true });
    const config = {
      endpoint: ep.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDOPERATOR", secretAccessKey: "x" },
    };
    const gg = new GreengrassV2Client(config);
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    let fleet: LocalFleet | undefined;
    try {
      const artifact = Buffer.from("probe artifact");
      await s3.send(
        new PutObjectCommand({ Bucket: localResources.artifactBucket, Key: "probe/a.bin", Body: artifact }),
      );
      const recipe = {
        RecipeFormatVersion: "2020-01-25",
        ComponentName: "com.example.Probe",
        ComponentVersion: "1.0.0",
        Manifests: [
          {
            Platform: { os: "linux" },
            Artifacts: [
              {
                Uri: `s3://${localResources.artifactBucket}/probe/a.bin`,
                Digest: createHash("sha256").update(artifact).digest("base64"),
                Algorithm: "SHA-256",
              },
            ],
          },
        ],
      };
      const created = await gg.send(
        new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(recipe)) }),
      );
      await until(async () => {
        const d = await gg.send(new DescribeComponentCommand({ arn: created.arn }));
        return d.status?.componentState === "DEPLOYABLE";
      }, "com.example.Probe never became DEPLOYABLE");
      fleet = await startLocalFleet(ep, {
        groups: [
          { name: "canary", size: 1 },
          { name: "fleet", size: 1 },
        ],
        pollIntervalMs: 50,
      });
      for (const group of ["canary", "fleet"])
        await gg.send(
          new CreateDeploymentCommand({
            targetArn: `arn:aws:iot:us-east-1:${ep.context.accountId}:thinggroup/${group}`,
            components: { "com.example.Probe": { componentVersion: "1.0.0" } },
          }),
        );
      const things = fleet.devices.map((d) => d.thingName);
      const devices = fleet.devices;
      await until(
        async () => devices.every((d) => d.components().get("com.example.Probe") === "1.0.0"),
        "the devices never installed com.example.Probe",
      );

      const tes = deviceCredentialsOf(ep);
      expect(tes.devices()).toEqual(
        things.map((thingName) => ({
          thingName,
          accessKeyId: accessKeyIdFor(thingName),
          revoked: false,
          vends: expect.any(Number),
        })),
      );
      for (const thing of things) {
        const vends = tes.vended().filter((v) => v.principal === thing);
        expect(vends.length).toBeGreaterThan(0);
        expect(new Set(vends.map((v) => v.accessKeyId))).toEqual(new Set([accessKeyIdFor(thing)]));
      }
      // No device fell back to the operator's token.
      expect(tes.vended().filter((v) => v.principal === "operator")).toEqual([]);
      const stored = JSON.parse(await readFile(join(stateDir, "credentials", "tokens.json"), "utf8")) as {
        devices: Record<string, unknown[]>;
      };
      expect(Object.keys(stored.devices).sort()).toEqual([...things].sort());
    } finally {
      await fleet?.stop();
      gg.destroy();
      s3.destroy();
      await ep.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
