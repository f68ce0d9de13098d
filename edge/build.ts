/**
 * Bundles the inference component into one ESM file a device runs with plain Node:
 * dist/edge/inference-runtime.mjs. onnxruntime-node stays external (a native module the
 * recipe installs); everything else, the AWS SDK included, is inside.
 *
 * Usage: tsx edge/build.ts [--outdir <dir>]   prints the path, size and SHA-256 (base64).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { INFERENCE_ARTIFACT_FILE } from "./recipe.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface BuiltArtifact {
  path: string;
  bytes: number;
  /** SHA-256, base64: the recipe's artifact Digest. */
  digest: string;
}

/** @example const { path, digest } = await buildInferenceRuntime(); */
export async function buildInferenceRuntime(
  outDir: string = join(repoRoot, "dist", "edge"),
): Promise<BuiltArtifact> {
  const path = join(outDir, INFERENCE_ARTIFACT_FILE);
  await build({
    entryPoints: [join(repoRoot, "edge", "main.ts")],
    outfile: path,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["onnxruntime-node"],
    // Bundled CommonJS (the AWS SDK) calls require(); ESM has none unless the banner makes one.
    banner: {
      js: "import { createRequire as __edgeCreateRequire } from 'node:module'; const require = __edgeCreateRequire(import.meta.url);",
    },
    legalComments: "none",
    logLevel: "warning",
  });
  const body = await readFile(path);
  return { path, bytes: body.length, digest: createHash("sha256").update(body).digest("base64") };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { outdir: { type: "string" } } });
  const artifact = await buildInferenceRuntime(values.outdir);
  console.log(JSON.stringify(artifact));
}
