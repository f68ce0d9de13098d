import { execFile, spawn } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { buildInferenceRuntime } from "../../edge/build.ts";
import { InferenceClient } from "../../edge/client.ts";
import { exampleModelPath, featureRows, waitFor, withTempDir } from "./helpers.ts";

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TOKEN = "tes-token-for-test";

/** The Greengrass token exchange service as a component sees it: credentials for the right token only. */
async function startTokenExchange(): Promise<{
  url: string;
  seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.headers.authorization !== TOKEN) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        AccessKeyId: "S3RVER",
        SecretAccessKey: "S3RVER",
        Token: "session-token",
        Expiration: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/2016-11-01/credentialprovider/`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("capture credentials on a device", () => {
  it("the bundle uploads capture with credentials from the token exchange service and AWS_ENDPOINT_URL", async () => {
    await withTempDir(async (dir) => {
      const { path: bundle } = await buildInferenceRuntime(join(repoRoot, "dist", "test-edge-credentials"));
      const S3rver = createRequire(import.meta.url)("s3rver") as new (
        options: object,
      ) => {
        run(): Promise<{ port: number }>;
        close(cb: () => void): void;
      };
      const s3rver = new S3rver({
        address: "127.0.0.1",
        port: 0,
        silent: true,
        directory: join(dir, "s3"),
        configureBuckets: [{ name: "capture-bucket" }],
      });
      const { port: s3Port } = await s3rver.run();
      const tes = await startTokenExchange();
      // Only what Greengrass gives a component: no access keys, no profile.
      const env = {
        PATH: process.env.PATH,
        HOME: dir,
        NODE_PATH: join(repoRoot, "node_modules"),
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL: `http://127.0.0.1:${s3Port}`,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: tes.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN,
        AWS_IOT_THING_NAME: "thing-1",
        EDGE_PORT: "0",
        EDGE_MODEL_PATH: exampleModelPath,
        EDGE_MODEL_NAME: "clf",
        EDGE_MODEL_VERSION: "1.0.0",
        EDGE_DEVICE_FLEET_NAME: "fleet-c",
        EDGE_BUCKET_NAME: "capture-bucket",
        EDGE_CAPTURE_DATA_BATCH_SIZE: "2",
      };
      const child = spawn("node", [bundle, "serve"], { cwd: dir, env });
      let log = "";
      child.stdout.on("data", (d) => (log += String(d)));
      child.stderr.on("data", (d) => (log += String(d)));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        await waitFor(() => /serving on 127\.0\.0\.1:\d+/.test(log) || child.exitCode !== null, 15_000);
        const address = /serving on (127\.0\.0\.1:\d+)/.exec(log)?.[1] as string;
        const client = await InferenceClient.connect(address);
        for (const row of featureRows(4))
          await client.predict("clf", { input: { dtype: "float32", shape: [1, 16], data: row } });
        await client.close();
        const port = address.split(":")[1] as string;
        // Batches of 2 are written as they fill; wait until the component reports both.
        for (let i = 0; i < 100; i++) {
          const { stdout } = await run("node", [bundle, "stats", "--port", port], { env });
          if ((JSON.parse(stdout) as { capture: { recordsWritten: number } }).capture.recordsWritten === 4)
            break;
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);

      expect(tes.seen.length).toBeGreaterThanOrEqual(1);
      expect(tes.seen.every((h) => h.authorization === TOKEN)).toBe(true);
      const s3 = new S3Client({
        endpoint: `http://127.0.0.1:${s3Port}`,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "capture-bucket" }));
      const keys = (listed.Contents ?? []).map((o) => o.Key);
      expect(keys).toHaveLength(2);
      for (const key of keys)
        expect(key).toMatch(
          /^capture\/fleet-c\/clf\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/thing-1-\d{8}T\d{9}Z-\d{6}\.jsonl$/,
        );
      s3.destroy();
      await tes.close();
      await new Promise<void>((resolve) => s3rver.close(resolve));
    });
  });
});
