import type { CaptureQueue } from "./capture.ts";
import type { NamedTensor } from "./capture-format.ts";
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
} from "./protocol.ts";

export interface InferenceRuntimeCoreOptions {
  store: ModelStore;
  /** Capture queue; null when capture is off. */
  capture: CaptureQueue | null;
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
  async handle(raw: unknown): Promise<Response> {
    this.requests++;
    const id = requestId(raw);
    try {
      const request = parseRequest(raw);
      return { id, ok: true, result: await this.dispatch(request) };
    } catch (error) {
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
  }

  /**
   * Predicts and offers the prediction to capture. Capture only enqueues references, so it
   * adds no I/O to this path.
   */
  async predict(
    model: string,
    inputs: readonly NamedTensor[],
    capture = true,
  ): Promise<{ info: ModelInfo; outputs: NamedTensor[] }> {
    const time = new Date();
    const result = await this.options.store.predict(model, inputs);
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
  }

  stats(): RuntimeStats {
    return {
      startedAt: this.startedAt,
      requests: this.requests,
      predictions: this.predictions,
      errors: { ...this.errors },
      models: this.options.store.list().length,
      capture: this.options.capture?.stats() ?? null,
    };
  }

  /** Writes buffered capture (bounded by timeoutMs) and releases the sessions. */
  async close(timeoutMs?: number): Promise<RuntimeStats> {
    await this.options.capture?.close(timeoutMs);
    await this.options.store.close();
    return this.stats();
  }

  private async dispatch(request: Request): Promise<unknown> {
    const { store } = this.options;
    switch (request.op) {
      case "load":
        return store.load({
          name: request.name,
          path: request.path,
          ...(request.version ? { version: request.version } : {}),
        });
      case "unload":
        return store.unload(request.name);
      case "list":
        return store.list();
      case "describe":
        return request.name ? store.describe(request.name) : { models: store.list(), stats: this.stats() };
      case "stats":
        return this.stats();
      case "predict": {
        const inputs = Object.entries(request.inputs).map(([name, wire]) => decodeWireTensor(name, wire));
        const { info, outputs } = await this.predict(request.model, inputs, request.capture !== false);
        const result: PredictResult = {
          model: info.name,
          modelVersion: info.version,
          outputs: Object.fromEntries(
            outputs.map((o) => [o.name, encodeWireTensor(o, request.outputEncoding)]),
          ),
        };
        return result;
      }
    }
  }
}

function requestId(raw: unknown): RequestId {
  const id = raw && typeof raw === "object" ? (raw as { id?: unknown }).id : undefined;
  return typeof id === "string" || typeof id === "number" ? id : null;
}
