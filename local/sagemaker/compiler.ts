import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { InferenceSession } from "onnxruntime-node";
import * as tar from "tar";
import type { ObjectStoreApi } from "../server/types.ts";
import { joinKey, type S3Location } from "./s3-uri.ts";

/** A compilation that must end FAILED; `message` becomes the job's FailureReason. */
export class CompilationFailedError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "CompilationFailedError";
  }
}

export interface CompileInput {
  jobName: string;
  model: S3Location;
  framework: string;
  /** `{"input":[1,16]}`: input names to shapes. */
  dataInputConfig?: string;
  output: S3Location;
  /** TargetDevice, or the platform triple, for the artifact name and manifest. */
  target: string;
}

export interface CompileResult {
  artifact: S3Location;
  /** sha256 hex of the uploaded tarball. */
  digest: string;
  manifest: CompiledModelManifest;
}

export interface CompiledModelManifest {
  compiler: "edge-mlops-local";
  runtime: string;
  graphOptimizationLevel: "all";
  /** Host the layout optimizations were made for (platform-arch). */
  optimizedFor: string;
  framework: "ONNX";
  target: string;
  sourceModel: string;
  modelFile: "model.onnx";
  modelSha256: string;
  inputs: { name: string; type?: string; shape: (number | string)[] }[];
  outputs: { name: string; type?: string; shape: (number | string)[] }[];
}

type Store = Pick<ObjectStoreApi, "getObject" | "putObject">;

const isGzip = (b: Buffer) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

function parseDataInputConfig(text: string | undefined): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  if (text === undefined || text.trim() === "") return shapes;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CompilationFailedError(
      `ClientError: InputConfiguration: DataInputConfig is not valid JSON: ${text}`,
      { cause: error },
    );
  }
  // Neo takes {"name": [shape]} or, for some frameworks, [{"name": …, "shape": […]}].
  const entries: [string, unknown][] = Array.isArray(parsed)
    ? parsed.map((e) => [String((e as { name?: unknown }).name), (e as { shape?: unknown }).shape])
    : Object.entries(parsed as object);
  for (const [name, shape] of entries) {
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 1))
      throw new CompilationFailedError(
        `ClientError: InputConfiguration: DataInputConfig shape for "${name}" must be a list of positive integers`,
      );
    shapes.set(name, shape as number[]);
  }
  return shapes;
}

async function findOnnx(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".onnx")).map((e) => join(e.parentPath, e.name));
}

/** The model bytes: a bare .onnx, or the one .onnx inside a .tar.gz. */
async function modelBytes(raw: Buffer, work: string, source: string): Promise<Buffer> {
  if (!isGzip(raw)) return raw;
  const archive = join(work, "input.tar.gz");
  const unpacked = join(work, "input");
  await writeFile(archive, raw);
  await mkdir(unpacked);
  try {
    await tar.x({ file: archive, cwd: unpacked, strict: true });
  } catch (error) {
    throw new CompilationFailedError(
      `ClientError: InputConfiguration: ${source} is not a readable .tar.gz: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const found = await findOnnx(unpacked);
  if (found.length !== 1)
    throw new CompilationFailedError(
      `ClientError: InputConfiguration: ${source} must contain exactly one .onnx file, found ${found.length}${found.length ? ` (${found.map((f) => relative(unpacked, f)).join(", ")})` : ""}`,
    );
  return readFile(found[0] as string);
}

function describe(meta: readonly InferenceSession.ValueMetadata[]) {
  return meta.map((m) =>
    m.isTensor
      ? {
          name: m.name,
          type: m.type,
          shape: [...m.shape].map((d) => (typeof d === "number" && d >= 0 ? d : String(d))),
        }
      : { name: m.name, shape: [] },
  );
}

function checkInputs(session: InferenceSession, wanted: Map<string, number[]>): void {
  for (const [name, shape] of wanted) {
    const meta = session.inputMetadata.find((m) => m.name === name);
    if (!meta)
      throw new CompilationFailedError(
        `ClientError: InputConfiguration: DataInputConfig names input "${name}", but the model's inputs are: ${session.inputNames.join(", ")}`,
      );
    if (!meta.isTensor) continue;
    const modelShape = [...meta.shape];
    const fixed = (d: unknown) => typeof d === "number" && d > 0;
    if (modelShape.length !== shape.length || modelShape.some((d, i) => fixed(d) && d !== shape[i]))
      throw new CompilationFailedError(
        `ClientError: InputConfiguration: input "${name}" has shape [${modelShape.join(", ")}] in the model, DataInputConfig gives [${shape.join(", ")}]`,
      );
  }
}

/**
 * The local stand-in for SageMaker Neo: ONNX models are loaded and graph-optimized by ONNX Runtime
 * (the runtime the devices run), the optimized model is checked to load, and `model.onnx` plus a
 * `compiled-model.json` manifest are uploaded as a .tar.gz. Other frameworks need Neo itself.
 * @example await compile({ jobName, model: parseS3Uri(uri, "S3Uri"), framework: "ONNX", output, target: "jetson_xavier" }, store)
 */
export async function compile(input: CompileInput, store: Store): Promise<CompileResult> {
  if (input.framework.toUpperCase() !== "ONNX")
    throw new CompilationFailedError(
      `ClientError: Framework ${input.framework} needs SageMaker Neo, which is not available on the local endpoint; only ONNX models compile locally (ONNX Runtime graph optimization)`,
    );
  const wanted = parseDataInputConfig(input.dataInputConfig);
  const sourceUri = `s3://${input.model.bucket}/${input.model.key}`;
  const raw = await store.getObject(input.model.bucket, input.model.key);
  if (raw === undefined)
    throw new CompilationFailedError(
      `ClientError: InputConfiguration: Unable to download the model from ${sourceUri}: the object does not exist`,
    );

  const work = await mkdtemp(join(tmpdir(), "edge-mlops-compile-"));
  try {
    const bytes = await modelBytes(raw, work, sourceUri);
    const out = join(work, "out");
    await mkdir(out);
    const optimizedPath = join(out, "model.onnx");
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        graphOptimizationLevel: "all",
        optimizedModelFilePath: optimizedPath,
        // Errors only: its "Serializing optimized model…" warning would print in every `npm start`; load failures still throw.
        logSeverityLevel: 3,
      });
    } catch (error) {
      throw new CompilationFailedError(
        `ClientError: ONNX Runtime could not load the model: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let manifest: CompiledModelManifest;
    try {
      checkInputs(session, wanted);
      const optimized = await readFile(optimizedPath);
      manifest = {
        compiler: "edge-mlops-local",
        runtime: `onnxruntime-node ${await ortVersion()}`,
        graphOptimizationLevel: "all",
        optimizedFor: `${process.platform}-${process.arch}`,
        framework: "ONNX",
        target: input.target,
        sourceModel: sourceUri,
        modelFile: "model.onnx",
        modelSha256: createHash("sha256").update(optimized).digest("hex"),
        inputs: describe(session.inputMetadata).map((m) => ({ ...m, shape: wanted.get(m.name) ?? m.shape })),
        outputs: describe(session.outputMetadata),
      };
    } finally {
      await session.release();
    }
    // The optimized file must load as well: devices will run exactly this file.
    try {
      const check = await InferenceSession.create(optimizedPath);
      await check.release();
    } catch (error) {
      throw new CompilationFailedError(
        `ClientError: the optimized model does not load again: ${(error as Error).message}`,
        { cause: error },
      );
    }
    await writeFile(join(out, "compiled-model.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    const tarball = join(work, "compiled.tar.gz");
    // Fixed mtime and portable headers make the same model compile to the same bytes (and digest).
    await tar.c({ gzip: true, file: tarball, cwd: out, portable: true, mtime: new Date(0) }, [
      "model.onnx",
      "compiled-model.json",
    ]);
    const body = await readFile(tarball);
    const stem = basename(input.model.key).replace(/\.tar\.gz$|\.onnx$|\.tgz$/i, "") || "model";
    const artifact = {
      bucket: input.output.bucket,
      key: joinKey(input.output.key, `${stem}-${input.target}.tar.gz`),
    };
    await store.putObject(artifact.bucket, artifact.key, body, "application/x-gzip");
    return { artifact, digest: createHash("sha256").update(body).digest("hex"), manifest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

let version: string | undefined;
async function ortVersion(): Promise<string> {
  if (version) return version;
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  version = (require("onnxruntime-node/package.json") as { version: string }).version;
  return version;
}
