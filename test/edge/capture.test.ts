import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureQueue, type CaptureSettings, defaultCaptureSettings } from "../../edge/capture.ts";
import { decodeCaptureTensor, parseCaptureRecord } from "../../edge/capture-format.ts";
import type { CaptureSink } from "../../edge/capture-sink.ts";
import { InferenceClient } from "../../edge/client.ts";
import { startInferenceRuntime } from "../../edge/index.ts";
import { closedPort, directRun, exampleModelPath, featureRows, waitFor, withTempDir } from "./helpers.ts";

const KEY_PATTERN = /^capture\/fleet-a\/clf\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/dev-1-\d{8}T\d{9}Z-\d{6}\.jsonl$/;
const input = (data: Float32Array) => ({ input: { dtype: "float32" as const, shape: [1, 16], data } });

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** A sink that records writes, and can be made to hang or fail. */
class RecordingSink implements CaptureSink {
  writes: Array<{ key: string; body: string }> = [];
  mode: "ok" | "hang" | "fail" = "ok";
  private release: (() => void) | undefined;
  async write(key: string, body: string | Uint8Array): Promise<void> {
    if (this.mode === "hang") await new Promise<void>((resolve) => (this.release = resolve));
    if (this.mode === "fail") throw new Error("sink down");
    this.writes.push({ key, body: Buffer.from(body).toString() });
  }
  uri(key: string): string {
    return `mem://${key}`;
  }
  unblock(): void {
    this.mode = "ok";
    this.release?.();
  }
}

const settings = (overrides: Partial<CaptureSettings> = {}): CaptureSettings => ({
  ...defaultCaptureSettings,
  deviceFleetName: "fleet-a",
  deviceId: "dev-1",
  pushPeriodSeconds: 0,
  retryBaseMs: 1,
  retryMaxMs: 5,
  ...overrides,
});

describe("capture to disk", () => {
  it("writes Edge Manager records that decode to the exact input and output bytes", async () => {
    await withTempDir(async (dir) => {
      const rows = featureRows(5);
      const expected = await directRun(rows);
      const running = await startInferenceRuntime({
        port: 0,
        models: [{ name: "clf", path: exampleModelPath, version: "4" }],
        capture: {
          deviceFleetName: "fleet-a",
          deviceId: "dev-1",
          destination: "Disk",
          diskPath: dir,
          batchSize: 2,
          pushPeriodSeconds: 0,
        },
      });
      const client = await InferenceClient.connect(running.address);
      for (const row of rows) await client.predict("clf", input(row));
      await client.close();
      const stats = await running.close();
      expect(stats.capture).toMatchObject({
        offered: 5,
        recordsWritten: 5,
        filesWritten: 3,
        dropped: 0,
        recordsLost: 0,
      });

      const files = (await listFiles(dir)).sort();
      expect(files).toHaveLength(3);
      for (const f of files) expect(f).toMatch(KEY_PATTERN);
      const records = (await Promise.all(files.map((f) => readFile(join(dir, f), "utf8"))))
        .flatMap((text) => text.trim().split("\n"))
        .map(parseCaptureRecord);
      expect(records).toHaveLength(5);
      records.forEach((record, i) => {
        expect(record.eventVersion).toBe("0");
        expect(record.eventMetadata).toMatchObject({
          deviceFleetName: "fleet-a",
          deviceId: "dev-1",
          modelName: "clf",
          modelVersion: "4",
        });
        expect(record.eventMetadata.eventId).toMatch(/^[0-9a-f-]{36}$/);
        expect(Date.parse(record.eventMetadata.inferenceTime)).not.toBeNaN();
        expect(record.deviceFleetInputs).toEqual([
          {
            name: "input",
            observedContentType: "Tensor[float32; 1, 16]",
            data: Buffer.from((rows[i] as Float32Array).buffer).toString("base64"),
          },
        ]);
        const output = decodeCaptureTensor(record.deviceFleetOutputs[0] as never);
        expect(output).toMatchObject({ name: "probabilities", dtype: "float32", dims: [1, 3] });
        expect(Array.from(output.data as Float32Array)).toEqual(Array.from(expected[i] ?? []));
      });
    });
  });

  it("skips predictions sent with capture:false and reports counters through describe", async () => {
    await withTempDir(async (dir) => {
      const running = await startInferenceRuntime({
        port: 0,
        models: [{ name: "clf", path: exampleModelPath }],
        capture: {
          deviceFleetName: "fleet-a",
          deviceId: "dev-1",
          destination: "Disk",
          diskPath: dir,
          batchSize: 10,
          pushPeriodSeconds: 0,
        },
      });
      const client = await InferenceClient.connect(running.address);
      const [a, b] = featureRows(2);
      await client.predict("clf", input(a as Float32Array));
      await client.predict("clf", input(b as Float32Array), { capture: false });
      await running.flushCapture();
      const described = await client.send({ op: "describe" });
      expect(described).toMatchObject({
        ok: true,
        result: {
          models: [{ name: "clf" }],
          stats: { predictions: 2, capture: { offered: 1, recordsWritten: 1 } },
        },
      });
      await client.close();
      await running.close();
      const [file] = await listFiles(dir);
      const record = parseCaptureRecord((await readFile(join(dir, file as string), "utf8")).trim());
      expect(record.deviceFleetInputs[0]?.data).toBe(
        Buffer.from((a as Float32Array).buffer).toString("base64"),
      );
    });
  });

  it("writes a partial batch after the push period", async () => {
    await withTempDir(async (dir) => {
      const running = await startInferenceRuntime({
        port: 0,
        models: [{ name: "clf", path: exampleModelPath }],
        capture: {
          deviceFleetName: "fleet-a",
          deviceId: "dev-1",
          destination: "Disk",
          diskPath: dir,
          batchSize: 10,
          pushPeriodSeconds: 0.05,
        },
      });
      await running.runtime.handle({
        op: "predict",
        model: "clf",
        inputs: { input: { dtype: "float32", shape: [1, 16], data: Array(16).fill(1) } },
      });
      await waitFor(() => (running.stats().capture?.recordsWritten ?? 0) === 1);
      expect(await listFiles(dir)).toHaveLength(1);
      await running.close();
    });
  });

  it("stores a tensor above the embed limit beside the batch and references it", async () => {
    const sink = new RecordingSink();
    const queue = new CaptureQueue({ sink, settings: settings({ base64EmbedLimit: 32, batchSize: 1 }) });
    const big = Float32Array.from({ length: 16 }, (_, i) => i);
    const small = Float32Array.of(0.25, 0.5, 0.25);
    queue.offer({
      modelName: "clf",
      modelVersion: "1",
      time: Date.parse("2024-05-06T07:08:09.010Z"),
      inputs: [{ name: "input", dtype: "float32", dims: [1, 16], data: big }],
      outputs: [{ name: "probabilities", dtype: "float32", dims: [1, 3], data: small }],
    });
    await queue.close();
    expect(sink.writes).toHaveLength(2);
    const [attachment, batch] = sink.writes;
    expect(batch?.key).toMatch(
      /^capture\/fleet-a\/clf\/2024\/05\/06\/07\/dev-1-20240506T070809010Z-000000\.jsonl$/,
    );
    const record = parseCaptureRecord(batch?.body ?? "");
    expect(record.deviceFleetInputs).toEqual([]);
    expect(record.deviceFleetAuxiliaryInputs).toEqual([
      { name: "input:Tensor[float32; 1, 16]", encoding: "NONE", "data-ref": `mem://${attachment?.key}` },
    ]);
    expect(attachment?.key.startsWith(batch?.key.replace(/\.jsonl$/, "") ?? "?")).toBe(true);
    expect(Buffer.from(attachment?.body ?? "", "binary").length).toBeGreaterThan(0);
    expect(record.deviceFleetOutputs[0]?.observedContentType).toBe("Tensor[float32; 1, 3]");
  });
});

describe("capture sampling", () => {
  const event = () => ({
    modelName: "clf",
    modelVersion: "1",
    time: Date.now(),
    inputs: [{ name: "input", dtype: "float32" as const, dims: [1, 16], data: new Float32Array(16) }],
    outputs: [],
  });

  it.each([
    [0, 0],
    [100, 40],
  ])("%i%% captures %i of 40", async (percentage, captured) => {
    const sink = new RecordingSink();
    const queue = new CaptureQueue({
      sink,
      settings: settings({ samplingPercentage: percentage, bufferSize: 100, batchSize: 10 }),
    });
    for (let i = 0; i < 40; i++) queue.offer(event());
    const stats = await queue.close();
    expect(stats).toMatchObject({ offered: 40, sampledOut: 40 - captured, recordsWritten: captured });
    const lines = sink.writes.flatMap((w) => w.body.trim().split("\n")).filter((l) => l !== "");
    expect(lines).toHaveLength(captured);
  });

  it("a percentage in between follows the random source", async () => {
    const sink = new RecordingSink();
    let n = 0;
    // Draws 0.00, 0.05, 0.10, … : with 25% the first 5 of every 20 pass.
    const queue = new CaptureQueue({
      sink,
      settings: settings({ samplingPercentage: 25, bufferSize: 100 }),
      random: () => ((n++ % 20) * 5) / 100,
    });
    for (let i = 0; i < 40; i++) queue.offer(event());
    expect((await queue.close()).recordsWritten).toBe(10);
  });
});

describe("capture never holds up predictions", () => {
  it("a full buffer drops and counts while predictions still succeed", async () => {
    const sink = new RecordingSink();
    sink.mode = "hang";
    const running = await startInferenceRuntime({
      port: 0,
      models: [{ name: "clf", path: exampleModelPath }],
      capture: {
        deviceFleetName: "fleet-a",
        deviceId: "dev-1",
        sink,
        bufferSize: 5,
        batchSize: 2,
        pushPeriodSeconds: 0,
      },
    });
    const client = await InferenceClient.connect(running.address);
    const rows = featureRows(20);
    const expected = await directRun(rows);
    for (const [i, row] of rows.entries()) {
      const result = await client.predict("clf", input(row));
      expect(Array.from(result.outputs.probabilities?.data as Float32Array)).toEqual(
        Array.from(expected[i] ?? []),
      );
    }
    // 2 in the hanging write, 5 buffered, the other 13 dropped.
    expect(running.stats().capture).toMatchObject({
      offered: 20,
      buffered: 5,
      dropped: 13,
      recordsWritten: 0,
    });
    sink.unblock();
    await client.close();
    const stats = await running.close();
    expect(stats.capture).toMatchObject({ dropped: 13, recordsWritten: 7, recordsLost: 0 });
    expect(sink.writes.flatMap((w) => w.body.trim().split("\n"))).toHaveLength(7);
  });

  it("S3 unreachable: predictions succeed, writes are retried with backoff and counted", async () => {
    const port = await closedPort();
    const running = await startInferenceRuntime({
      port: 0,
      models: [{ name: "clf", path: exampleModelPath }],
      capture: {
        deviceFleetName: "fleet-a",
        deviceId: "dev-1",
        bucketName: "capture-bucket",
        s3: s3Client(`http://127.0.0.1:${port}`),
        bufferSize: 4,
        batchSize: 2,
        pushPeriodSeconds: 0,
        maxUploadAttempts: 3,
        retryBaseMs: 5,
        retryMaxMs: 20,
      },
    });
    const client = await InferenceClient.connect(running.address);
    const started = Date.now();
    for (const row of featureRows(10)) {
      const result = await client.predict("clf", input(row));
      expect(result.outputs.probabilities?.data).toHaveLength(3);
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    await client.close();
    const stats = await running.close(5_000);
    expect(stats.predictions).toBe(10);
    expect(stats.capture?.recordsWritten).toBe(0);
    expect(stats.capture?.uploadFailures).toBeGreaterThanOrEqual(1);
    // Every attempted batch was tried maxUploadAttempts times.
    expect(stats.capture?.uploadAttempts).toBe((stats.capture?.uploadFailures ?? 0) * 3);
    expect(stats.capture?.uploadRetries).toBe((stats.capture?.uploadFailures ?? 0) * 2);
    expect((stats.capture?.dropped ?? 0) + (stats.capture?.recordsLost ?? 0)).toBe(10);
    expect(stats.capture?.lastError).toMatch(/ECONNREFUSED|connect/i);
  });

  it("a write that fails then recovers is retried and lands once", async () => {
    const sink = new RecordingSink();
    let failures = 2;
    const flaky: CaptureSink = {
      uri: (k) => k,
      write: async (key, body, type) => {
        if (failures-- > 0) throw new Error("transient");
        await sink.write(key, body);
        void type;
      },
    };
    const queue = new CaptureQueue({ sink: flaky, settings: settings({ batchSize: 3 }) });
    for (let i = 0; i < 3; i++) {
      queue.offer({ modelName: "clf", modelVersion: "1", time: Date.now(), inputs: [], outputs: [] });
    }
    const stats = await queue.close();
    expect(stats).toMatchObject({
      uploadAttempts: 3,
      uploadRetries: 2,
      recordsWritten: 3,
      filesWritten: 1,
      uploadFailures: 0,
    });
    expect(sink.writes).toHaveLength(1);
  });

  it("close gives up on retries at its deadline and counts the records as lost", async () => {
    const sink = new RecordingSink();
    sink.mode = "fail";
    const queue = new CaptureQueue({
      sink,
      settings: settings({ maxUploadAttempts: 1000, retryBaseMs: 50, retryMaxMs: 50 }),
    });
    for (let i = 0; i < 3; i++)
      queue.offer({ modelName: "clf", modelVersion: "1", time: Date.now(), inputs: [], outputs: [] });
    const started = Date.now();
    const stats = await queue.close(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stats).toMatchObject({ recordsLost: 3, recordsWritten: 0, uploadFailures: 1 });
  });
});

describe("capture to S3", () => {
  let server: { close(cb: () => void): void };
  let endpoint: string;
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    dir = await mkdtemp(join(tmpdir(), "edge-s3-"));
    cleanup = () => rm(dir, { recursive: true, force: true });
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
      directory: dir,
      configureBuckets: [{ name: "capture-bucket" }],
    });
    const { port } = await s3rver.run();
    server = s3rver;
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(resolve));
    await cleanup();
  });

  it("uploads batches under <prefix>/<fleet>/<model>/YYYY/MM/DD/HH/", async () => {
    const s3 = s3Client(endpoint);
    const running = await startInferenceRuntime({
      port: 0,
      models: [{ name: "clf", path: exampleModelPath, version: "9" }],
      capture: {
        deviceFleetName: "fleet-a",
        deviceId: "dev-1",
        bucketName: "capture-bucket",
        s3,
        batchSize: 3,
        pushPeriodSeconds: 0,
      },
    });
    const client = await InferenceClient.connect(running.address);
    const rows = featureRows(6, 3);
    for (const row of rows) await client.predict("clf", input(row));
    await client.close();
    const stats = await running.close();
    expect(stats.capture).toMatchObject({ recordsWritten: 6, filesWritten: 2, uploadRetries: 0 });

    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "capture-bucket", Prefix: "capture/fleet-a/clf/" }),
    );
    const keys = (listed.Contents ?? []).map((o) => o.Key as string).sort();
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(KEY_PATTERN);
    const bodies = await Promise.all(
      keys.map(
        async (Key) =>
          (
            await s3.send(new GetObjectCommand({ Bucket: "capture-bucket", Key }))
          ).Body?.transformToString() ?? "",
      ),
    );
    const inputs = bodies
      .flatMap((b) => b.trim().split("\n"))
      .map((line) =>
        Array.from(
          decodeCaptureTensor(parseCaptureRecord(line).deviceFleetInputs[0] as never).data as Float32Array,
        ),
      );
    expect(inputs).toEqual(rows.map((r) => Array.from(r)));
  });
});
