import type { CaptureQueue } from "./capture.ts";
import type { NamedTensor } from "./capture-format.ts";
import type { SpoolUploader } from "./capture-spool.ts";
import { type ErrorCode, InferenceRuntimeError } from "./errors.ts";
import type { ModelInfo, ModelStore } from "./model-store.ts";
import {
  decodeWireTensor,
  encodeWireTensor,
  type PredictResult,
  parseRequest,
  type Request,
  type RequestId,
  type Response,
  type RuntimeStats,
  type WireTensor,
} from "./protocol.ts";

export interface InferenceRuntimeCoreOptions {
  store: ModelStore;
  /** Capture queue; null when capture is off. */
  capture: CaptureQueue | null;
  /** Periodic uploader of spooled capture (CaptureDataPeriodicUpload); null when capture writes directly. */
  spool?: SpoolUploader | null;
  log?: (message: string) => void;
}

/**
 * What the socket serves, callable in-process: `handle` takes a decoded request and always
 * resolves to a response — a failure is an error response with a code, never a throw.
 */
export class InferenceRuntime {
  private readonly startedAt = new Date().toISOString();
  private requests = 0;
  private predictions = 0;
  private readonly errors: Partial<Record<ErrorCode, number>> = {};
  private readonly log: (message: string) => void;

  constructor(private readonly options: InferenceRuntimeCoreOptions) {
    this.log = options.log ?? (() => {});
  }

  get store(): ModelStore {
    return this.options.store;
  }

  /** @example await runtime.handle({ id: 1, op: "list" }) // { id: 1, ok: true, result: [...] } */
  handle(raw: unknown): Promise<Response> {
    this.requests++;
    const id = requestId(raw);
    let pending: Promise<unknown>;
    try {
      const request = parseRequest(raw);
      pending = request.op === "predict" ? this.predictRequest(request) : this.dispatch(request);
    } catch (error) {
      return Promise.resolve(this.errorResponse(id, error));
    }
    // then() rather than an async frame: this runs on every prediction.
    return pending.then(
      (result): Response => ({ id, ok: true, result }),
      (error: unknown) => this.errorResponse(id, error),
    );
  }

  private errorResponse(id: RequestId, error: unknown): Response {
    const known = error instanceof InferenceRuntimeError;
    const code: ErrorCode = known ? error.code : "Internal";
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    if (!known)
      this.log(`internal error on request ${String(id)}: ${(error as Error).stack ?? String(error)}`);
    return {
      id,
      ok: false,
      error: { code, message: known ? error.message : "internal error; see the component log" },
    };
  }

  /**
   * Predicts and offers the prediction to capture. Capture only enqueues references, so it
   * adds no I/O to this path.
   */
  predict(
    model: string,
    inputs: readonly NamedTensor[],
    capture = true,
  ): Promise<{ info: ModelInfo; outputs: NamedTensor[] }> {
    const time = Date.now();
    return this.options.store.predict(model, inputs).then((result) => {
      this.predictions++;
      if (capture && this.options.capture) {
        this.options.capture.offer({
          modelName: model,
          modelVersion: result.info.version,
          inputs,
          outputs: result.outputs,
          time,
        });
      }
      return result;
    });
  }

  stats(): RuntimeStats {
    return {
      startedAt: this.startedAt,
      requests: this.requests,
      predictions: this.predictions,
      errors: { ...this.errors },
      models: this.options.store.list().length,
      capture: this.options.capture?.stats() ?? null,
      spool: this.options.spool?.stats() ?? null,
    };
  }

  /** Writes buffered capture (bounded by timeoutMs) and releases the sessions. */
  async close(timeoutMs?: number): Promise<RuntimeStats> {
    await this.options.capture?.close(timeoutMs);
    // Spooled files not uploaded by then stay on disk for the next start.
    await this.options.spool?.close(timeoutMs);
    await this.options.store.close();
    return this.stats();
  }

  private predictRequest(request: Extract<Request, { op: "predict" }>): Promise<PredictResult> {
    const inputs: NamedTensor[] = [];
    for (const name in request.inputs) inputs.push(decodeWireTensor(name, request.inputs[name]));
    return this.predict(request.model, inputs, request.capture !== false).then(({ info, outputs }) => {
      const encoded: Record<string, WireTensor> = {};
      for (const output of outputs) encoded[output.name] = encodeWireTensor(output, request.outputEncoding);
      return { model: info.name, modelVersion: info.version, outputs: encoded };
    });
  }

  private async dispatch(request: Request): Promise<unknown> {
    const { store } = this.options;
    switch (request.op) {
      case "load":
        return store.load({
          name: request.name,
          path: request.path,
          ...(request.version ? { version: request.version } : {}),
          ...(request.replace ? { replace: true } : {}),
        });
      case "unload":
        return store.unload(request.name);
      case "list":
        return store.list();
      case "describe":
        return request.name ? store.describe(request.name) : { models: store.list(), stats: this.stats() };
      case "stats":
        return this.stats();
      case "predict":
        return this.predictRequest(request);
    }
  }
}

function requestId(raw: unknown): RequestId {
  const id = raw && typeof raw === "object" ? (raw as { id?: unknown }).id : undefined;
  return typeof id === "string" || typeof id === "number" ? id : null;
}
