import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import type { ObjectStoreApi } from "../server/types.ts";
import type { CompilationJobRecord } from "./compilation-jobs.ts";
import { CompilationFailedError } from "./compiler.ts";
import { joinKey, parseS3Uri, type S3Location } from "./s3-uri.ts";

export interface PackageInput {
  jobName: string;
  compilation: CompilationJobRecord | undefined;
  compilationJobName: string;
  modelName: string;
  modelVersion: string;
  output: S3Location;
}

export interface PackageResult {
  artifact: S3Location;
  /** sha256 hex of the package, what ModelSignature reports. */
  signature: string;
}

/**
 * Edge packaging: the compiled model's files plus an `edge-package.json` naming model and version,
 * as `<ModelName>-<ModelVersion>.tar.gz` under the output location.
 */
export async function packageModel(
  input: PackageInput,
  store: Pick<ObjectStoreApi, "getObject" | "putObject">,
): Promise<PackageResult> {
  const compiled = input.compilation;
  if (!compiled)
    throw new CompilationFailedError(`Compilation job ${input.compilationJobName} does not exist`);
  if (compiled.CompilationJobStatus !== "COMPLETED" || !compiled.ModelArtifacts)
    throw new CompilationFailedError(
      `Compilation job ${compiled.CompilationJobName} is ${compiled.CompilationJobStatus}, not COMPLETED`,
    );
  const source = parseS3Uri(compiled.ModelArtifacts.S3ModelArtifacts, "S3ModelArtifacts");
  const raw = await store.getObject(source.bucket, source.key);
  if (!raw)
    throw new CompilationFailedError(
      `compiled model ${compiled.ModelArtifacts.S3ModelArtifacts} no longer exists`,
    );

  const work = await mkdtemp(join(tmpdir(), "edge-mlops-package-"));
  try {
    const files = join(work, "files");
    await mkdir(files);
    await writeFile(join(work, "compiled.tar.gz"), raw);
    await tar.x({ file: join(work, "compiled.tar.gz"), cwd: files, strict: true });
    await writeFile(
      join(files, "edge-package.json"),
      `${JSON.stringify(
        {
          modelName: input.modelName,
          modelVersion: input.modelVersion,
          compilationJobName: compiled.CompilationJobName,
          compiledModel: compiled.ModelArtifacts.S3ModelArtifacts,
          compiledModelDigest: compiled.ModelDigests?.ArtifactDigest,
          edgePackagingJobName: input.jobName,
        },
        null,
        2,
      )}\n`,
    );
    const out = join(work, "package.tar.gz");
    const entries = await readdir(files);
    await tar.c({ gzip: true, file: out, cwd: files, portable: true, mtime: new Date(0) }, entries.sort());
    const body = await readFile(out);
    const artifact = {
      bucket: input.output.bucket,
      key: joinKey(input.output.key, `${input.modelName}-${input.modelVersion}.tar.gz`),
    };
    await store.putObject(artifact.bucket, artifact.key, body, "application/x-gzip");
    return { artifact, signature: createHash("sha256").update(body).digest("hex") };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
