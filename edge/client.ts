import { connect, type Socket } from "node:net";
import type { NamedTensor, TensorData, TensorDtype } from "./capture-format.ts";
import { typedArrayFromBytes } from "./capture-format.ts";
import { type ErrorCode, InferenceRequestError } from "./errors.ts";
import type { ModelInfo } from "./model-store.ts";
import {
  encodeWireTensor,
  type PredictResult,
  type Response,
  type RuntimeStats,
  type WireTensor,
} from "./protocol.ts";

export interface ClientTensor {
  dtype: TensorDtype;
  shape: number[];
  data: TensorData;
}

export interface PredictOutput {
  model: string;
  modelVersion: string;
  outputs: Record<string, ClientTensor>;
}

/**
 * A connection to the inference component for applications on the device (and the fleet's
 * traffic generator). Requests may be issued concurrently; responses are matched by id.
 * @example
 * const client = await InferenceClient.connect("/greengrass/v2/work/com.edgemlops.InferenceRuntime/inference.sock");
 * const { outputs } = await client.predict("example-classifier", { input: { dtype: "float32", shape: [1, 16], data } });
 */
export class InferenceClient {
  private nextId = 1;
  private buffer = "";
  private readonly waiting = new Map<
    number,
    { resolve: (r: Response) => void; reject: (e: Error) => void }
  >();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("close", () =>
      this.failAll(
        new InferenceRequestError("ConnectionClosed", "connection to the inference component closed"),
      ),
    );
    socket.on("error", (error) =>
      this.failAll(new InferenceRequestError("ConnectionClosed", error.message, { cause: error })),
    );
  }

  /**
   * Connects, retrying for up to `waitMs` while nothing listens yet (a model component's
   * lifecycle may run before the inference component has opened its socket).
   */
  static async connectWhenReady(address: string, waitMs: number): Promise<InferenceClient> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return await InferenceClient.connect(address);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const retryable = code === "ENOENT" || code === "ECONNREFUSED";
        if (!retryable || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** `address` is a socket path or "host:port" (as `startInferenceRuntime` returns it). */
  static connect(address: string): Promise<InferenceClient> {
    const tcp = /^([\w.-]+):(\d+)$/.exec(address);
    return new Promise((resolve, reject) => {
      const socket = tcp ? connect({ host: tcp[1], port: Number(tcp[2]) }) : connect({ path: address });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new InferenceClient(socket));
      });
    });
  }

  /** Sends any request object (an `id` is added) and resolves with the raw response. */
  send(request: Record<string, unknown>): Promise<Response> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  /** `replace` swaps out a model already loaded under the name without a gap in service. */
  async load(
    name: string,
    path: string,
    options: { version?: string; replace?: boolean } = {},
  ): Promise<ModelInfo> {
    return (await this.call({ op: "load", name, path, ...options })) as ModelInfo;
  }

  async unload(name: string): Promise<ModelInfo> {
    return (await this.call({ op: "unload", name })) as ModelInfo;
  }

  async list(): Promise<ModelInfo[]> {
    return (await this.call({ op: "list" })) as ModelInfo[];
  }

  async describe(name: string): Promise<ModelInfo> {
    return (await this.call({ op: "describe", name })) as ModelInfo;
  }

  async stats(): Promise<RuntimeStats> {
    return (await this.call({ op: "stats" })) as RuntimeStats;
  }

  /** Tensors travel as base64 both ways; outputs come back as typed arrays. */
  async predict(
    model: string,
    inputs: Record<string, ClientTensor>,
    options: { capture?: boolean } = {},
  ): Promise<PredictOutput> {
    const wire = Object.fromEntries(
      Object.entries(inputs).map(([name, t]) => [
        name,
        encodeWireTensor(
          { name, dtype: t.dtype, dims: t.shape, data: t.data } satisfies NamedTensor,
          "base64",
        ),
      ]),
    );
    const result = (await this.call({
      op: "predict",
      model,
      inputs: wire,
      outputEncoding: "base64",
      ...(options.capture === false ? { capture: false } : {}),
    })) as PredictResult;
    return {
      model: result.model,
      modelVersion: result.modelVersion,
      outputs: Object.fromEntries(Object.entries(result.outputs).map(([name, t]) => [name, fromWire(t)])),
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end();
    });
  }

  private async call(request: Record<string, unknown>): Promise<unknown> {
    const response = await this.send(request);
    if (!response.ok)
      throw new InferenceRequestError(response.error.code as ErrorCode, response.error.message);
    return response.result;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf("\n");
      let response: Response;
      try {
        response = JSON.parse(line) as Response;
      } catch {
        continue;
      }
      const waiter = typeof response.id === "number" ? this.waiting.get(response.id) : undefined;
      if (waiter && typeof response.id === "number") {
        this.waiting.delete(response.id);
        waiter.resolve(response);
      } else if (!response.ok && response.id === null) {
        // An error the server could not tie to a request (e.g. an oversized line) fails the oldest one.
        const [oldest] = this.waiting.entries();
        if (oldest) {
          this.waiting.delete(oldest[0]);
          oldest[1].resolve(response);
        }
      }
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}

function fromWire(t: WireTensor): ClientTensor {
  if (typeof t.data !== "string") throw new TypeError("expected base64 output data");
  return {
    dtype: t.dtype,
    shape: t.shape,
    data: typedArrayFromBytes(t.dtype, Buffer.from(t.data, "base64")),
  };
}
