import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceClient } from "../../edge/client.ts";
import { InferenceRequestError } from "../../edge/errors.ts";
import { type RunningInferenceRuntime, startInferenceRuntime } from "../../edge/index.ts";
import { directRun, exampleModelPath, featureRows, withTempDir } from "./helpers.ts";

/** Sends raw lines and collects `count` response lines. */
async function rawExchange(
  address: string,
  payload: string,
  count: number,
): Promise<Array<Record<string, unknown>>> {
  const [host, port] = address.split(":");
  const socket = connect({ host, port: Number(port) });
  let text = "";
  return new Promise((resolve, reject) => {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      const lines = text.split("\n").filter((l) => l !== "");
      if (lines.length >= count) {
        socket.end();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>));
      }
    });
    socket.on("error", reject);
    socket.write(payload);
  });
}

describe("inference component over TCP", () => {
  let running: RunningInferenceRuntime;
  let client: InferenceClient;
  beforeAll(async () => {
    running = await startInferenceRuntime({
      port: 0,
      models: [{ name: "clf", path: exampleModelPath, version: "7" }],
      capture: false,
    });
    client = await InferenceClient.connect(running.address);
  });
  afterAll(async () => {
    await client.close();
    await running.close();
  });

  it("listens on 127.0.0.1 only", () => {
    expect(running.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("predict returns exactly what a bare session.run returns", async () => {
    const rows = featureRows(25);
    const expected = await directRun(rows);
    for (const [i, row] of rows.entries()) {
      const result = await client.predict("clf", { input: { dtype: "float32", shape: [1, 16], data: row } });
      expect(result).toMatchObject({ model: "clf", modelVersion: "7" });
      expect(result.outputs.probabilities?.shape).toEqual([1, 3]);
      expect(Array.from(result.outputs.probabilities?.data as Float32Array)).toEqual(
        Array.from(expected[i] ?? []),
      );
    }
  });

  it("accepts JSON number arrays and answers pipelined requests by id", async () => {
    const rows = featureRows(3, 5);
    const expected = await directRun(rows);
    const payload = rows
      .map((row, i) =>
        JSON.stringify({
          id: `r${i}`,
          op: "predict",
          model: "clf",
          inputs: { input: { dtype: "float32", shape: [1, 16], data: Array.from(row) } },
        }),
      )
      .join("\n");
    const responses = await rawExchange(running.address, `${payload}\n`, 3);
    expect(responses.map((r) => r.id)).toEqual(["r0", "r1", "r2"]);
    responses.forEach((r, i) => {
      const outputs = (r.result as { outputs: Record<string, { data: number[] }> }).outputs;
      expect(outputs.probabilities?.data).toEqual(Array.from(expected[i] ?? []));
    });
  });

  it("batch of 4 rows in one request gives 4 probability rows", async () => {
    const rows = featureRows(4, 9);
    const batch = new Float32Array(64);
    rows.forEach((r, i) => {
      batch.set(r, i * 16);
    });
    const result = await client.predict("clf", { input: { dtype: "float32", shape: [4, 16], data: batch } });
    expect(result.outputs.probabilities?.shape).toEqual([4, 3]);
    const expected = await directRun(rows);
    for (let i = 0; i < 4; i++) {
      const probabilities = result.outputs.probabilities?.data as Float32Array;
      const got = Array.from(probabilities.subarray(i * 3, i * 3 + 3));
      got.forEach((v, k) => {
        expect(v).toBeCloseTo(expected[i]?.[k] ?? Number.NaN, 6);
      });
    }
  });

  it("bad requests get coded error responses and the server keeps serving", async () => {
    const good = {
      op: "predict",
      model: "clf",
      inputs: { input: { dtype: "float32", shape: [1, 16], data: Array(16).fill(0) } },
    };
    const lines = [
      "this is not json",
      JSON.stringify([1, 2]),
      JSON.stringify({ id: 1, op: "explode" }),
      JSON.stringify({ id: 2, op: "predict", model: "nope", inputs: good.inputs }),
      JSON.stringify({
        id: 3,
        op: "predict",
        model: "clf",
        inputs: { input: { dtype: "float32", shape: [1, 15], data: Array(15).fill(0) } },
      }),
      JSON.stringify({
        id: 4,
        op: "predict",
        model: "clf",
        inputs: { input: { dtype: "int32", shape: [1, 16], data: Array(16).fill(0) } },
      }),
      JSON.stringify({ id: 5, op: "predict", model: "clf", inputs: { wrong: good.inputs.input } }),
      JSON.stringify({
        id: 6,
        op: "predict",
        model: "clf",
        inputs: { input: { dtype: "float32", shape: [1, 16], data: "AAAA" } },
      }),
      JSON.stringify({
        id: 7,
        op: "predict",
        model: "clf",
        inputs: { input: { dtype: "float32", shape: [1, 16], data: [...Array(15).fill(0), "x"] } },
      }),
      JSON.stringify({ id: 8, op: "load", name: "other", path: "/no/such/model" }),
      JSON.stringify({ id: 9, op: "load", name: "clf", path: exampleModelPath }),
      JSON.stringify({ id: 10, op: "unload" }),
      JSON.stringify({ id: 11, ...good }),
    ];
    const responses = await rawExchange(running.address, `${lines.join("\n")}\n`, lines.length);
    const codes = responses.map((r) => (r.ok ? "ok" : (r.error as { code: string }).code));
    expect(codes).toEqual([
      "BadRequest",
      "BadRequest",
      "BadRequest",
      "ModelNotFound",
      "InvalidInput",
      "InvalidInput",
      "InvalidInput",
      "InvalidInput",
      "InvalidInput",
      "ModelLoadFailed",
      "ModelAlreadyLoaded",
      "BadRequest",
      "ok",
    ]);
    expect(responses[4]).toMatchObject({ error: { message: expect.stringContaining("shape [1,15]") } });
    expect(responses[6]).toMatchObject({ error: { message: expect.stringContaining('no input "wrong"') } });
    // The same connection and new connections still work.
    const after = await client.predict("clf", {
      input: { dtype: "float32", shape: [1, 16], data: new Float32Array(16) },
    });
    expect(after.outputs.probabilities?.data).toHaveLength(3);
    const errors = running.stats().errors;
    expect(errors.InvalidInput).toBeGreaterThanOrEqual(5);
    expect(errors.ModelNotFound).toBeGreaterThanOrEqual(1);
  });

  it("the client throws InferenceRequestError with the server's code", async () => {
    const error = await client.describe("missing").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceRequestError);
    expect(error).toMatchObject({ code: "ModelNotFound" });
  });

  it("an oversized line is refused without taking the server down", async () => {
    const small = await startInferenceRuntime({ port: 0, capture: false, maxRequestBytes: 1024 });
    try {
      const huge = `{"id":1,"op":"list","pad":"${"x".repeat(4096)}"}\n`;
      const responses = await rawExchange(small.address, `${huge}{"id":2,"op":"list"}\n`, 2);
      expect(responses[0]).toMatchObject({
        ok: false,
        error: { code: "BadRequest", message: expect.stringContaining("exceeds 1024") },
      });
      expect(responses[1]).toMatchObject({ id: 2, ok: true, result: [] });
      // An unterminated oversized line is answered and the connection closed; others are unaffected.
      const [unterminated] = await rawExchange(small.address, "y".repeat(4096), 1);
      expect(unterminated).toMatchObject({ ok: false, error: { code: "BadRequest" } });
      const c = await InferenceClient.connect(small.address);
      expect(await c.list()).toEqual([]);
      await c.close();
    } finally {
      await small.close();
    }
  });
});

describe("inference component over a Unix socket", () => {
  it("loads, lists, describes, predicts and unloads", async () => {
    await withTempDir(async (dir) => {
      const socketPath = join(dir, "inference.sock");
      const running = await startInferenceRuntime({ socketPath, capture: false });
      const client = await InferenceClient.connect(running.address);
      try {
        expect(running.address).toBe(socketPath);
        expect(await client.list()).toEqual([]);
        const info = await client.load("clf", exampleModelPath, { version: "2" });
        expect(info).toMatchObject({
          name: "clf",
          version: "2",
          inputs: [{ name: "input", dtype: "float32", shape: ["N", 16] }],
          outputs: [{ name: "probabilities", dtype: "float32", shape: ["N", 3] }],
        });
        expect((await client.list()).map((m) => m.name)).toEqual(["clf"]);
        expect(await client.describe("clf")).toEqual(info);
        const [row] = featureRows(1);
        const [expected] = await directRun([row as Float32Array]);
        const result = await client.predict("clf", {
          input: { dtype: "float32", shape: [1, 16], data: row as Float32Array },
        });
        expect(Array.from(result.outputs.probabilities?.data as Float32Array)).toEqual(
          Array.from(expected ?? []),
        );
        await client.unload("clf");
        await expect(
          client.predict("clf", { input: { dtype: "float32", shape: [1, 16], data: row as Float32Array } }),
        ).rejects.toMatchObject({
          code: "ModelNotFound",
        });
        expect(running.stats()).toMatchObject({ predictions: 1, models: 0, capture: null });
      } finally {
        await client.close();
        await running.close();
      }
    });
  });
});
