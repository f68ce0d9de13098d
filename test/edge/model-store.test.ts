import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelAlreadyLoadedError, ModelLoadError } from "../../edge/errors.ts";
import { ModelStore, resolveModelFile } from "../../edge/model-store.ts";
import { exampleModelPath, withTempDir } from "./helpers.ts";

describe("model store", () => {
  it("finds model.onnx in a Greengrass-unpacked folder (archive name as subfolder) and reads compiled-model.json", async () => {
    await withTempDir(async (dir) => {
      const unpacked = join(dir, "decompressed", "model-1.0.0");
      await mkdir(unpacked, { recursive: true });
      await copyFile(exampleModelPath, join(unpacked, "model.onnx"));
      await writeFile(
        join(unpacked, "compiled-model.json"),
        JSON.stringify({ compiler: "edge-mlops-local", target: "linux-arm64" }),
      );
      const store = new ModelStore();
      const info = await store.load({ name: "clf", path: join(dir, "decompressed"), version: "1.0.0" });
      expect(info).toMatchObject({
        file: join(unpacked, "model.onnx"),
        version: "1.0.0",
        compilation: { target: "linux-arm64" },
      });
      await store.close();
      expect(store.list()).toEqual([]);
    });
  });

  it("refuses a second model under a loaded name, also when both loads race", async () => {
    const store = new ModelStore();
    const results = await Promise.allSettled([
      store.load({ name: "clf", path: exampleModelPath }),
      store.load({ name: "clf", path: exampleModelPath }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(
      ModelAlreadyLoadedError,
    );
    await store.close();
  });

  it("says why a path holds no usable model", async () => {
    await withTempDir(async (dir) => {
      await expect(resolveModelFile(join(dir, "missing"))).rejects.toThrow(/does not exist/);
      await expect(resolveModelFile(dir)).rejects.toThrow(/holds no model.onnx/);
      await writeFile(join(dir, "a.onnx"), "x");
      await writeFile(join(dir, "b.onnx"), "y");
      await expect(resolveModelFile(dir)).rejects.toThrow(/several .onnx files \(a.onnx, b.onnx\)/);
      const store = new ModelStore();
      const error = await store.load({ name: "bad", path: join(dir, "a.onnx") }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelLoadError);
      expect((error as ModelLoadError).cause).toBeDefined();
      expect(store.list()).toEqual([]);
    });
  });

  it("replace swaps the model while predictions are in flight, none of them failing", async () => {
    const store = new ModelStore();
    await store.load({ name: "clf", path: exampleModelPath, version: "1" });
    const input = [
      { name: "input", dtype: "float32" as const, dims: [1, 16], data: new Float32Array(16).fill(0.5) },
    ];
    const versions: string[] = [];
    const predictions = Array.from({ length: 200 }, () =>
      store.predict("clf", input).then((r) => versions.push(r.info.version)),
    );
    const swapped = store.load({ name: "clf", path: exampleModelPath, version: "2", replace: true });
    const later = Array.from({ length: 50 }, () =>
      swapped.then(() => store.predict("clf", input)).then((r) => versions.push(r.info.version)),
    );
    await Promise.all([...predictions, swapped, ...later]);
    expect(versions).toHaveLength(250);
    expect(versions.filter((v) => v === "2").length).toBeGreaterThanOrEqual(50);
    expect(store.describe("clf").version).toBe("2");
    await expect(store.load({ name: "clf", path: exampleModelPath })).rejects.toBeInstanceOf(
      ModelAlreadyLoadedError,
    );
    await store.close();
  });
});
