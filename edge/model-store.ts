import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InferenceSession, Tensor } from "onnxruntime-node";
import { extract } from "tar";
import type { NamedTensor, TensorData, TensorDtype } from "./capture-format.ts";
import {
  InferenceError,
  InvalidInputError,
  ModelAlreadyLoadedError,
  ModelLoadError,
  ModelNotFoundError,
} from "./errors.ts";
import { ort } from "./ort.ts";

/** Name of the model file inside a model folder (also inside the compiler's `.tar.gz`). */
export const MODEL_FILE = "model.onnx";
/** Written beside model.onnx by the local compiler; describes how the model was compiled. */
export const COMPILED_MODEL_FILE = "compiled-model.json";

export interface TensorInfo {
  name: string;
  dtype: string;
  /** Fixed sizes as numbers, symbolic ones (the batch) as names. */
  shape: (number | string)[];
}

export interface ModelInfo {
  name: string;
  version: string;
  /** The .onnx file the session was created from. */
  file: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  loadedAt: string;
  /** Contents of compiled-model.json when the model came from the compiler. */
  compilation?: Record<string, unknown>;
}

export interface LoadModelRequest {
  name: string;
  /** A .onnx file, a .tar.gz from the compiler, or a folder holding model.onnx. */
  path: string;
  version?: string;
  /**
   * Swap out a model already loaded under this name: the new session is created first, so
   * predictions keep being answered (by the old model, then the new) throughout.
   */
  replace?: boolean;
}

interface LoadedModel {
  info: ModelInfo;
  session: InferenceSession;
  inputs: Map<string, TensorInfo>;
  /** Runs in progress; a retired session is released when this reaches zero. */
  inFlight: number;
  retired: boolean;
}

const supportedDtypes = new Set<TensorDtype>([
  "float32",
  "float64",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "int64",
]);

/**
 * Named ONNX Runtime sessions: the Edge Manager agent's LoadModel/UnloadModel/ListModels/
 * DescribeModel/Predict, minus the gRPC.
 * @example const store = new ModelStore(); await store.load({ name: "clf", path: "/models/clf" });
 */
export class ModelStore {
  private readonly models = new Map<string, LoadedModel>();
  /** Names being loaded, so two concurrent loads of one name cannot both win. */
  private readonly loading = new Set<string>();

  constructor(
    private readonly options: {
      sessionOptions?: InferenceSession.SessionOptions;
      /** Where .tar.gz models are unpacked (the component's work folder on a device). */
      unpackRoot?: string;
    } = {},
  ) {}

  async load(request: LoadModelRequest): Promise<ModelInfo> {
    const { name } = request;
    if ((this.models.has(name) && !request.replace) || this.loading.has(name))
      throw new ModelAlreadyLoadedError(name);
    this.loading.add(name);
    try {
      const file = await resolveModelFile(request.path, this.options.unpackRoot);
      const compilation = await readCompilation(file);
      let session: InferenceSession;
      try {
        session = await ort.InferenceSession.create(file, this.options.sessionOptions ?? {});
      } catch (cause) {
        throw new ModelLoadError(`ONNX Runtime could not load ${file}: ${(cause as Error).message}`, {
          cause,
        });
      }
      const inputs = session.inputMetadata.map(tensorInfo);
      const info: ModelInfo = {
        name,
        version: request.version ?? stringField(compilation, "modelVersion") ?? "unknown",
        file,
        inputs,
        outputs: session.outputMetadata.map(tensorInfo),
        loadedAt: new Date().toISOString(),
        ...(compilation ? { compilation } : {}),
      };
      const previous = this.models.get(name);
      this.models.set(name, {
        info,
        session,
        inputs: new Map(inputs.map((i) => [i.name, i])),
        inFlight: 0,
        retired: false,
      });
      if (previous) await retire(previous);
      return info;
    } finally {
      this.loading.delete(name);
    }
  }

  async unload(name: string): Promise<ModelInfo> {
    const model = this.models.get(name);
    if (!model) throw new ModelNotFoundError(name);
    this.models.delete(name);
    await retire(model);
    return model.info;
  }

  list(): ModelInfo[] {
    return [...this.models.values()].map((m) => m.info);
  }

  describe(name: string): ModelInfo {
    const model = this.models.get(name);
    if (!model) throw new ModelNotFoundError(name);
    return model.info;
  }

  /**
   * Runs the model. Inputs are checked against the model's metadata first so a wrong request
   * gets a message naming the tensor rather than an ONNX Runtime internal error. Not an async
   * function: one promise reaction instead of an extra async frame on every prediction.
   */
  predict(
    name: string,
    inputs: readonly NamedTensor[],
  ): Promise<{ info: ModelInfo; outputs: NamedTensor[] }> {
    let model: LoadedModel;
    let feeds: Record<string, Tensor>;
    try {
      model = this.modelFor(name);
      feeds = feedsFor(model, inputs);
    } catch (error) {
      return Promise.reject(error);
    }
    model.inFlight++;
    return model.session
      .run(feeds)
      .then(
        (results) => ({ info: model.info, outputs: outputsOf(model, results) }),
        (cause: unknown) => {
          throw new InferenceError(`model ${name} failed: ${(cause as Error).message}`, { cause });
        },
      )
      .finally(() => {
        model.inFlight--;
        if (model.retired && model.inFlight === 0) void model.session.release().catch(() => {});
      });
  }

  private modelFor(name: string): LoadedModel {
    const model = this.models.get(name);
    if (!model) throw new ModelNotFoundError(name);
    return model;
  }

  async close(): Promise<void> {
    const names = [...this.models.keys()];
    await Promise.allSettled(names.map((n) => this.unload(n)));
  }
}

/** Releases a session no longer served, now or when its last run finishes. */
async function retire(model: LoadedModel): Promise<void> {
  model.retired = true;
  if (model.inFlight === 0) await model.session.release();
}

function feedsFor(model: LoadedModel, inputs: readonly NamedTensor[]): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const input of inputs) {
    const expected = model.inputs.get(input.name);
    if (!expected) {
      const known = [...model.inputs.keys()].join(", ");
      throw new InvalidInputError(
        `model ${model.info.name} has no input ${JSON.stringify(input.name)} (inputs: ${known})`,
      );
    }
    checkTensor(input, expected);
    feeds[input.name] = new ort.Tensor(input.dtype, input.data as Tensor.DataType, input.dims);
  }
  for (const expected of model.inputs.keys()) {
    if (!(expected in feeds))
      throw new InvalidInputError(`model ${model.info.name} needs input ${JSON.stringify(expected)}`);
  }
  return feeds;
}

function outputsOf(model: LoadedModel, results: InferenceSession.ReturnType): NamedTensor[] {
  return model.info.outputs.map(({ name }) => {
    const tensor = results[name];
    if (!tensor) throw new InferenceError(`model ${model.info.name} returned no ${name}`);
    return { name, dtype: tensor.type as TensorDtype, dims: tensor.dims, data: tensor.data as TensorData };
  });
}

function checkTensor(input: NamedTensor, expected: TensorInfo): void {
  if (!supportedDtypes.has(input.dtype) || input.dtype !== expected.dtype) {
    throw new InvalidInputError(`input ${input.name}: dtype ${input.dtype}, model expects ${expected.dtype}`);
  }
  if (input.dims.length !== expected.shape.length) {
    throw new InvalidInputError(
      `input ${input.name}: shape [${input.dims}], model expects [${expected.shape}]`,
    );
  }
  expected.shape.forEach((dim, i) => {
    const got = input.dims[i];
    if (
      got === undefined ||
      !Number.isInteger(got) ||
      got < 1 ||
      (typeof dim === "number" && dim > 0 && dim !== got)
    ) {
      throw new InvalidInputError(
        `input ${input.name}: shape [${input.dims}], model expects [${expected.shape}]`,
      );
    }
  });
  const count = input.dims.reduce((a, b) => a * b, 1);
  if (input.data.length !== count) {
    throw new InvalidInputError(
      `input ${input.name}: ${input.data.length} values for shape [${input.dims}] (needs ${count})`,
    );
  }
}

function tensorInfo(meta: InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, dtype: "non-tensor", shape: [] };
  return {
    name: meta.name,
    dtype: meta.type,
    shape: meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : String(d))),
  };
}

/**
 * A .onnx file is used as is; a .tar.gz (the compiler's output) is unpacked under
 * `unpackRoot` first. A folder must hold model.onnx or exactly one .onnx file, directly or
 * in its only subfolder (Greengrass unpacks an archive into a folder named after it).
 */
export async function resolveModelFile(
  path: string,
  unpackRoot: string = join(tmpdir(), "edge-mlops-models"),
): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new ModelLoadError(`model path ${path} does not exist`, { cause });
  }
  if (info.isFile() && /\.(tar\.gz|tgz)$/i.test(path))
    return resolveModelFile(await unpackArchive(path, unpackRoot), unpackRoot);
  if (info.isFile()) return path;
  return findModelInFolder(path, 1);
}

async function findModelInFolder(folder: string, depth: number): Promise<string> {
  if (existsSync(join(folder, MODEL_FILE))) return join(folder, MODEL_FILE);
  const entries = await readdir(folder, { withFileTypes: true });
  const onnx = entries.filter((e) => e.isFile() && e.name.endsWith(".onnx"));
  if (onnx.length === 1 && onnx[0]) return join(folder, onnx[0].name);
  if (onnx.length > 1) {
    throw new ModelLoadError(
      `model folder ${folder} holds several .onnx files (${onnx.map((e) => e.name).join(", ")}) and no ${MODEL_FILE}`,
    );
  }
  const folders = entries.filter((e) => e.isDirectory());
  if (depth > 0 && folders.length === 1 && folders[0])
    return findModelInFolder(join(folder, folders[0].name), depth - 1);
  throw new ModelLoadError(`model folder ${folder} holds no ${MODEL_FILE}`);
}

/** Unpacks into a folder named after the archive's content hash, so a re-load reuses it. */
async function unpackArchive(archive: string, unpackRoot: string): Promise<string> {
  const body = await readFile(archive);
  const target = join(unpackRoot, createHash("sha256").update(body).digest("hex").slice(0, 16));
  if (existsSync(join(target, ".complete"))) return target;
  try {
    await mkdir(target, { recursive: true });
    await extract({ file: archive, cwd: target, strict: true });
    await writeFile(join(target, ".complete"), "");
  } catch (cause) {
    throw new ModelLoadError(`could not unpack ${archive}: ${(cause as Error).message}`, { cause });
  }
  return target;
}

async function readCompilation(file: string): Promise<Record<string, unknown> | undefined> {
  const path = join(file, "..", COMPILED_MODEL_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const value: unknown = JSON.parse(await readFile(path, "utf8"));
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch (cause) {
    throw new ModelLoadError(`${path} is not valid JSON`, { cause });
  }
}

function stringField(record: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = record?.[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}
