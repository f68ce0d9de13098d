import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { sampleFeatures } from "../../examples/distribution.ts";
import { examplePaths, examplesDir } from "../../examples/generate-model.ts";
import { createRng } from "../../examples/prng.ts";

export const exampleModelPath = join(examplesDir, examplePaths.model);

export function featureRows(count: number, seed = 11): Float32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => sampleFeatures(rng));
}

/** Probabilities from a bare session.run: the reference the component must reproduce. */
export async function directRun(rows: readonly Float32Array[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(exampleModelPath);
  try {
    const results: Float32Array[] = [];
    for (const row of rows) {
      const out = await session.run({ input: new ort.Tensor("float32", row, [1, 16]) });
      results.push(Float32Array.from(out.probabilities?.data as Float32Array));
    }
    return results;
  } finally {
    await session.release();
  }
}

/** A 127.0.0.1 port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "edge-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
