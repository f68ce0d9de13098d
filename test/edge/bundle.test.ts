import { type ChildProcess, execFile, spawn } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create as createTar } from "tar";
import { beforeAll, describe, expect, it } from "vitest";
import { buildInferenceRuntime } from "../../edge/build.ts";
import { parseCaptureRecord } from "../../edge/capture-format.ts";
import { InferenceClient } from "../../edge/client.ts";
import { startInferenceRuntime } from "../../edge/index.ts";
import { envName, settingKeys } from "../../edge/settings.ts";
import { directRun, exampleModelPath, featureRows, waitFor, withTempDir } from "./helpers.ts";

const run = promisify(execFile);
const repoNodeModules = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "node_modules");
// As on a device: the bundle finds the natively installed onnxruntime-node through NODE_PATH only.
const deviceEnv = { PATH: process.env.PATH, NODE_PATH: repoNodeModules };

describe("esbuild bundle", () => {
  let bundle: string;
  let outDir: string;
  beforeAll(async () => {
    outDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "test-edge-bundle");
    const built = await buildInferenceRuntime(outDir);
    bundle = built.path;
    expect(built.digest).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(built.bytes).toBeGreaterThan(10_000);
  });

  it("is one ESM file that keeps onnxruntime-node external", async () => {
    expect(await readdir(outDir)).toEqual(["inference-runtime.mjs"]);
    const text = await readFile(bundle, "utf8");
    expect(text.startsWith("import { createRequire as __edgeCreateRequire }")).toBe(true);
    expect(text).toContain('"onnxruntime-node"');
    expect(text).not.toContain("onnxruntime_binding.node");
  });

  it("--help lists every setting with its environment variable", async () => {
    const { stdout } = await run("node", [bundle, "--help"], { env: deviceEnv });
    for (const key of settingKeys) expect(stdout).toContain(envName(key));
  });

  it("serves a compiler .tar.gz model, answers the CLI and flushes capture on SIGTERM", async () => {
    await withTempDir(async (dir) => {
      const modelDir = join(dir, "compiled");
      await mkdir(modelDir);
      await copyFile(exampleModelPath, join(modelDir, "model.onnx"));
      await writeFile(
        join(modelDir, "compiled-model.json"),
        JSON.stringify({ compiler: "edge-mlops-local", target: "linux-x86-64" }),
      );
      const archive = join(dir, "classifier-linux-x86-64.tar.gz");
      await createTar({ gzip: true, file: archive, cwd: modelDir }, ["model.onnx", "compiled-model.json"]);
      const work = join(dir, "work");
      await mkdir(work);

      const child: ChildProcess = spawn("node", [bundle, "serve"], {
        cwd: work,
        env: {
          ...deviceEnv,
          EDGE_PORT: "0",
          EDGE_MODEL_PATH: archive,
          EDGE_MODEL_NAME: "clf",
          EDGE_MODEL_VERSION: "5",
          EDGE_DEVICE_FLEET_NAME: "fleet-b",
          EDGE_DEVICE_ID: "dev-9",
          EDGE_CAPTURE_DATA_DESTINATION: "Disk",
          EDGE_CAPTURE_DATA_BATCH_SIZE: "100",
          EDGE_CAPTURE_DATA_BUFFER_SIZE: "100",
          EDGE_CAPTURE_DATA_PUSH_PERIOD_SECONDS: "0",
        },
      });
      let log = "";
      child.stdout?.on("data", (d) => (log += String(d)));
      child.stderr?.on("data", (d) => (log += String(d)));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        await waitFor(() => /serving on 127\.0\.0\.1:\d+/.test(log) || child.exitCode !== null, 15_000);
        const address = /serving on (127\.0\.0\.1:\d+)/.exec(log)?.[1];
        expect(address, log).toBeDefined();

        const rows = featureRows(3);
        const expected = await directRun(rows);
        const client = await InferenceClient.connect(address as string);
        for (const [i, row] of rows.entries()) {
          const result = await client.predict("clf", {
            input: { dtype: "float32", shape: [1, 16], data: row },
          });
          expect(Array.from(result.outputs.probabilities?.data as Float32Array)).toEqual(
            Array.from(expected[i] ?? []),
          );
        }
        expect(await client.describe("clf")).toMatchObject({
          version: "5",
          compilation: { target: "linux-x86-64" },
        });
        await client.close();

        const port = (address as string).split(":")[1] as string;
        const { stdout } = await run("node", [bundle, "stats", "--port", port], { env: deviceEnv });
        expect(JSON.parse(stdout)).toMatchObject({
          predictions: 3,
          capture: { buffered: 3, recordsWritten: 0 },
        });
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
      // Nothing was written before SIGTERM (batch of 100, no push period): the flush on stop wrote it.
      const files = (await readdir(join(work, "capture"), { recursive: true })).filter((f) =>
        String(f).endsWith(".jsonl"),
      );
      expect(files).toHaveLength(1);
      expect(String(files[0])).toMatch(/^capture\/fleet-b\/clf\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/dev-9-/);
      const lines = (await readFile(join(work, "capture", String(files[0])), "utf8")).trim().split("\n");
      expect(lines.map((l) => parseCaptureRecord(l).eventMetadata.modelVersion)).toEqual(["5", "5", "5"]);
      expect(log).toMatch(/"models":0/);
      expect(log).toMatch(/SIGTERM: flushing capture/);
    });
  });

  it("exits non-zero with a clear message on bad configuration", async () => {
    const result = await run("node", [bundle, "serve"], {
      env: { ...deviceEnv, EDGE_CAPTURE_DATA_DESTINATION: "Cloud" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stderr: string }).stderr).toMatch(/SettingsError: capture to Cloud needs BucketName/);
  });

  it("load waits for the component's socket to appear, as a model component's Run step needs", async () => {
    await withTempDir(async (dir) => {
      const socketPath = join(dir, "inference.sock");
      const loading = run(
        "node",
        [
          bundle,
          "load",
          "--socket-path",
          socketPath,
          "--model-name",
          "clf",
          "--model-path",
          exampleModelPath,
          "--model-version",
          "8",
        ],
        {
          env: deviceEnv,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 700));
      const running = await startInferenceRuntime({ socketPath, capture: false });
      try {
        const { stdout } = await loading;
        expect(JSON.parse(stdout)).toMatchObject({ name: "clf", version: "8" });
        expect(running.runtime.store.list().map((m) => [m.name, m.version])).toEqual([["clf", "8"]]);
      } finally {
        await running.close();
      }
    });
  });
});
