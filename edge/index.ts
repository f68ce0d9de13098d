import type { S3Client } from "@aws-sdk/client-s3";
import { CaptureQueue, type CaptureSettings, type CaptureStats, defaultCaptureSettings } from "./capture.ts";
import { type CaptureSink, createCaptureS3Client, DiskCaptureSink, S3CaptureSink } from "./capture-sink.ts";
import { SpoolingSink, SpoolUploader } from "./capture-spool.ts";
import { type LoadModelRequest, type ModelInfo, ModelStore } from "./model-store.ts";
import type { RuntimeStats } from "./protocol.ts";
import { InferenceRuntime } from "./runtime.ts";
import { startServer } from "./server.ts";

export { InferenceClient } from "./client.ts";
export type { CaptureSettings, CaptureStats, ModelInfo, RuntimeStats };
export { InferenceRuntime };

export interface CaptureOptions extends Partial<CaptureSettings> {
  deviceFleetName: string;
  deviceId: string;
  /** Where batches go: "Cloud" needs bucketName, "Disk" needs diskPath; or pass a sink. */
  destination?: "Cloud" | "Disk";
  bucketName?: string;
  diskPath?: string;
  /** S3 client for Cloud; defaults to one from the default credential chain and AWS_ENDPOINT_URL. */
  s3?: S3Client;
  sink?: CaptureSink;
  /**
   * CaptureDataPeriodicUpload: with destination Cloud, batches are spooled under diskPath and
   * uploaded every periodicUploadPeriodSeconds (default 8), so an outage loses nothing.
   */
  periodicUpload?: boolean;
  periodicUploadPeriodSeconds?: number;
  /** Uniform [0,1) source for sampling decisions (tests). */
  random?: () => number;
}

export interface InferenceRuntimeOptions {
  /** Unix socket path; without it the runtime listens on 127.0.0.1:`port`. */
  socketPath?: string;
  port?: number;
  /** Models loaded before the socket opens. */
  models?: LoadModelRequest[];
  /** Longest request line the socket accepts (default 16 MiB). */
  maxRequestBytes?: number;
  /** Where .tar.gz models are unpacked; defaults to a folder under the OS temp dir. */
  modelUnpackRoot?: string;
  /** Capture settings, or false for none. */
  capture?: CaptureOptions | false;
  log?: (message: string) => void;
}

export interface RunningInferenceRuntime {
  /** Socket path or "127.0.0.1:<port>"; pass it to InferenceClient.connect. */
  address: string;
  /** The in-process request handler the socket uses. */
  runtime: InferenceRuntime;
  stats(): RuntimeStats;
  /** Resolves when everything captured so far is written or given up (retries included). */
  flushCapture(): Promise<void>;
  /** Closes the socket, writes buffered capture (bounded by timeoutMs), releases sessions. */
  close(timeoutMs?: number): Promise<RuntimeStats>;
}

export class CaptureConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaptureConfigurationError";
  }
}

/**
 * Starts one inference component: its own model store, capture uploader and socket. Many can
 * run in one process (one per simulated device).
 * @example
 * const rt = await startInferenceRuntime({ port: 0, models: [{ name: "clf", path: "examples/model/classifier.onnx" }],
 *   capture: { deviceFleetName: "fleet", deviceId: "dev-1", destination: "Disk", diskPath: "/tmp/capture" } });
 */
export async function startInferenceRuntime(
  options: InferenceRuntimeOptions = {},
): Promise<RunningInferenceRuntime> {
  const log = options.log ?? (() => {});
  const store = new ModelStore(options.modelUnpackRoot ? { unpackRoot: options.modelUnpackRoot } : {});
  const { queue: capture, spool } = options.capture
    ? createCapture(options.capture, log)
    : { queue: null, spool: null };
  const runtime = new InferenceRuntime({ store, capture, spool, log });
  try {
    for (const model of options.models ?? []) {
      const info = await store.load(model);
      log(`loaded model ${info.name} version ${info.version} from ${info.file}`);
    }
    const server = await startServer(runtime, {
      ...(options.socketPath ? { socketPath: options.socketPath } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.maxRequestBytes ? { maxLineBytes: options.maxRequestBytes } : {}),
    });
    return {
      address: server.address,
      runtime,
      stats: () => runtime.stats(),
      flushCapture: async () => {
        await capture?.flush();
        await spool?.uploadPending();
      },
      close: async (timeoutMs?: number) => {
        await server.close();
        return runtime.close(timeoutMs);
      },
    };
  } catch (error) {
    await runtime.close(0);
    throw error;
  }
}

function createCapture(
  options: CaptureOptions,
  log: (message: string) => void,
): { queue: CaptureQueue; spool: SpoolUploader | null } {
  const {
    destination = "Cloud",
    bucketName,
    diskPath,
    s3,
    sink,
    random,
    periodicUpload,
    periodicUploadPeriodSeconds,
    ...settings
  } = options;
  let target = sink;
  let spool: SpoolUploader | null = null;
  if (!target && destination === "Disk") {
    if (!diskPath) throw new CaptureConfigurationError("capture to Disk needs diskPath");
    target = new DiskCaptureSink(diskPath);
  }
  if (!target) {
    if (!bucketName) throw new CaptureConfigurationError("capture to Cloud needs bucketName");
    target = new S3CaptureSink(s3 ?? createCaptureS3Client(), bucketName);
    if (periodicUpload) {
      if (!diskPath) throw new CaptureConfigurationError("periodic upload spools on disk and needs diskPath");
      const cloud = target;
      target = new SpoolingSink(diskPath, cloud);
      spool = new SpoolUploader({
        spoolDir: diskPath,
        destination: cloud,
        periodSeconds: periodicUploadPeriodSeconds ?? 8,
        log,
      });
    }
  }
  const queue = new CaptureQueue({
    sink: target,
    settings: { ...defaultCaptureSettings, ...definedOnly(settings) } as CaptureSettings,
    ...(random ? { random } : {}),
    log,
  });
  return { queue, spool };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
