import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";

/** The examples' classifier: input "input" [N,16] float32 → "probabilities" [N,3]. */
export const classifierOnnx = () =>
  readFileSync(new URL("../../examples/model/classifier.onnx", import.meta.url));

/** Files packed as a .tar.gz in memory, the way training jobs hand over model.tar.gz. */
export async function tarGz(files: Record<string, Buffer | string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "edge-mlops-tar-"));
  try {
    for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
    const out = join(dir, "..", `${dir.split("/").pop()}.tar.gz`);
    await tar.c({ gzip: true, file: out, cwd: dir }, Object.keys(files));
    const bytes = readFileSync(out);
    await rm(out, { force: true });
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Unpacks a .tar.gz into a temp dir and returns it (caller removes it). */
export async function untarGz(bytes: Uint8Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edge-mlops-untar-"));
  await writeFile(join(dir, "archive.tar.gz"), bytes);
  await tar.x({ file: join(dir, "archive.tar.gz"), cwd: dir });
  await rm(join(dir, "archive.tar.gz"));
  return dir;
}
