import { readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { InferenceClient } from "../../edge/client.ts";
import { type CaptureOptions, startInferenceRuntime } from "../../edge/index.ts";
import { closedPort, exampleModelPath, featureRows, withTempDir } from "./helpers.ts";

type S3rverInstance = { run(): Promise<{ port: number }>; close(cb: () => void): void };
const S3rver = createRequire(import.meta.url)("s3rver") as new (options: object) => S3rverInstance;

function s3Client(port: number): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    forcePathStyle: true,
    maxAttempts: 1,
  });
}

async function spooled(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String).filter((f) => f.endsWith(".jsonl"));
}

describe("periodic upload (CaptureDataPeriodicUpload)", () => {
  it("spools while S3 is down, keeps the files across a restart and uploads them once S3 is back", async () => {
    await withTempDir(async (dir) => {
      const port = await closedPort();
      const spoolDir = join(dir, "spool");
      const capture = (): CaptureOptions => ({
        deviceFleetName: "fleet-s",
        deviceId: "dev-2",
        bucketName: "capture-bucket",
        s3: s3Client(port),
        diskPath: spoolDir,
        periodicUpload: true,
        periodicUploadPeriodSeconds: 3600,
        batchSize: 2,
        pushPeriodSeconds: 0,
      });

      const first = await startInferenceRuntime({
        port: 0,
        models: [{ name: "clf", path: exampleModelPath }],
        capture: capture(),
      });
      const client = await InferenceClient.connect(first.address);
      for (const row of featureRows(6))
        await client.predict("clf", { input: { dtype: "float32", shape: [1, 16], data: row } });
      await client.close();
      await first.flushCapture();
      expect(first.stats().capture).toMatchObject({ recordsWritten: 6, recordsLost: 0, dropped: 0 });
      expect(first.stats().spool).toMatchObject({ uploadedFiles: 0, pendingFiles: 3 });
      expect(first.stats().spool?.failedUploads).toBeGreaterThanOrEqual(1);
      await first.close(2_000);
      expect(await spooled(spoolDir)).toHaveLength(3);

      // S3 comes back on the same address; a new start of the component finds the spool.
      const s3rver = new S3rver({
        address: "127.0.0.1",
        port,
        silent: true,
        directory: join(dir, "s3"),
        configureBuckets: [{ name: "capture-bucket" }],
      });
      await s3rver.run();
      try {
        const second = await startInferenceRuntime({ port: 0, capture: capture() });
        await second.flushCapture();
        expect(second.stats().spool).toMatchObject({ uploadedFiles: 3, pendingFiles: 0 });
        await second.close();
        expect(await spooled(spoolDir)).toEqual([]);
        const listed = await s3Client(port).send(new ListObjectsV2Command({ Bucket: "capture-bucket" }));
        const keys = (listed.Contents ?? []).map((o) => o.Key as string);
        expect(keys).toHaveLength(3);
        for (const key of keys)
          expect(key).toMatch(/^capture\/fleet-s\/clf\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/dev-2-.*\.jsonl$/);
      } finally {
        await new Promise<void>((resolve) => s3rver.close(resolve));
      }
    });
  });
});
