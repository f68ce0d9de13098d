import { randomUUID } from "node:crypto";
import {
  CAPTURE_EVENT_VERSION,
  type CaptureAuxiliary,
  type CaptureRecord,
  type CaptureTensor,
  contentType,
  encodeCaptureTensor,
  type NamedTensor,
  tensorBytes,
} from "./capture-format.ts";
import type { CaptureSink } from "./capture-sink.ts";

/** Capture settings, named after the Edge Manager component's CaptureData* configuration. */
export interface CaptureSettings {
  deviceFleetName: string;
  deviceId: string;
  /** FolderPrefix: first part of every key. */
  folderPrefix: string;
  /** Share of predictions captured, 0–100. */
  samplingPercentage: number;
  /** CaptureDataBufferSize: records held waiting for upload; more are dropped and counted. */
  bufferSize: number;
  /** CaptureDataBatchSize: records per written file. */
  batchSize: number;
  /** CaptureDataPushPeriodSeconds: a partial batch is written after this long; 0 writes only full batches and on flush. */
  pushPeriodSeconds: number;
  /** CaptureDataBase64EmbedLimit: tensors larger than this many bytes are written beside the batch and referenced. */
  base64EmbedLimit: number;
  /** Attempts per batch before it is given up (and its records counted as lost). */
  maxUploadAttempts: number;
  /** First retry delay; doubles per attempt, with jitter, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const defaultCaptureSettings: Omit<CaptureSettings, "deviceFleetName" | "deviceId"> = {
  folderPrefix: "capture",
  samplingPercentage: 100,
  bufferSize: 30,
  batchSize: 10,
  pushPeriodSeconds: 4,
  base64EmbedLimit: 3072,
  maxUploadAttempts: 5,
  retryBaseMs: 200,
  retryMaxMs: 10_000,
};

/** One prediction offered for capture. Tensors are kept by reference: serialisation happens off the predict path. */
export interface CaptureEvent {
  modelName: string;
  modelVersion: string;
  inputs: readonly NamedTensor[];
  outputs: readonly NamedTensor[];
  /** Prediction time, epoch milliseconds (a number: cheaper than a Date on the predict path). */
  time: number;
}

export interface CaptureStats {
  offered: number;
  sampledOut: number;
  /** Records waiting in the buffer now. */
  buffered: number;
  /** Records refused because the buffer was full. */
  dropped: number;
  recordsWritten: number;
  filesWritten: number;
  uploadAttempts: number;
  uploadRetries: number;
  /** Batches given up after maxUploadAttempts. */
  uploadFailures: number;
  /** Records in the given-up batches. */
  recordsLost: number;
  lastError?: string;
  lastWrittenKey?: string;
}

export type OfferResult = "buffered" | "sampledOut" | "dropped";

export interface CaptureQueueOptions {
  sink: CaptureSink;
  settings: CaptureSettings;
  /** Uniform [0,1) source for sampling; injectable for tests. */
  random?: () => number;
  log?: (message: string) => void;
}

/**
 * Buffers captured predictions and writes them as JSONL batches under
 * `<prefix>/<fleet>/<model>/YYYY/MM/DD/HH/<deviceId>-<timestamp>-<seq>.jsonl`.
 * `offer` is synchronous and never throws, so a prediction never waits on capture: when the
 * buffer is full the record is dropped and counted. One batch is written at a time; a failed
 * write is retried with backoff while new records keep filling (or overflowing) the buffer.
 * @example const queue = new CaptureQueue({ sink, settings }); queue.offer(event); await queue.close();
 */
export class CaptureQueue {
  private readonly buffer: CaptureEvent[] = [];
  private readonly counters: CaptureStats = {
    offered: 0,
    sampledOut: 0,
    buffered: 0,
    dropped: 0,
    recordsWritten: 0,
    filesWritten: 0,
    uploadAttempts: 0,
    uploadRetries: 0,
    uploadFailures: 0,
    recordsLost: 0,
  };
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private closed = false;
  /** Cuts retry waits short when close() runs out of time. */
  private readonly abort = new AbortController();
  private readonly random: () => number;
  private readonly log: (message: string) => void;
  readonly settings: CaptureSettings;

  constructor(private readonly options: CaptureQueueOptions) {
    this.settings = validateSettings(options.settings);
    this.random = options.random ?? Math.random;
    this.log = options.log ?? (() => {});
    if (this.settings.pushPeriodSeconds > 0) {
      this.timer = setInterval(() => this.pump(true), this.settings.pushPeriodSeconds * 1000);
      // The timer alone must not keep a process alive.
      this.timer.unref();
    }
  }

  offer(event: CaptureEvent): OfferResult {
    this.counters.offered++;
    if (this.closed || this.random() * 100 >= this.settings.samplingPercentage) {
      this.counters.sampledOut++;
      return "sampledOut";
    }
    if (this.buffer.length >= this.settings.bufferSize) {
      this.counters.dropped++;
      return "dropped";
    }
    this.buffer.push(event);
    if (this.buffer.length >= this.settings.batchSize) this.pump(false);
    return "buffered";
  }

  stats(): CaptureStats {
    return { ...this.counters, buffered: this.buffer.length };
  }

  /** Writes everything buffered now, waiting for the writes (including retries). */
  async flush(): Promise<void> {
    while (this.buffer.length > 0 || this.inFlight) {
      if (!this.inFlight) this.pump(true);
      await this.inFlight;
    }
  }

  /**
   * Stops capturing and writes what is buffered. After `timeoutMs` pending retries stop and
   * the remaining records are counted as lost, so shutdown is bounded even with S3 unreachable.
   */
  async close(timeoutMs = 10_000): Promise<CaptureStats> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const deadline = setTimeout(() => this.abort.abort(), timeoutMs);
    try {
      await this.flush();
    } finally {
      clearTimeout(deadline);
    }
    return this.stats();
  }

  /** Starts writing one batch unless one is in flight; `partial` allows a batch smaller than batchSize. */
  private pump(partial: boolean): void {
    if (this.inFlight || this.buffer.length === 0) return;
    if (!partial && this.buffer.length < this.settings.batchSize) return;
    const batch = this.buffer.splice(0, this.settings.batchSize);
    // pump() can run inside offer(), i.e. inside a prediction: serialising the batch waits for
    // the next turn of the event loop so that prediction's response goes out first.
    this.inFlight = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.writeBatch(batch))
      .catch((error: unknown) => {
        // writeBatch counts its own failures; this only guards against a bug escaping as an unhandled rejection.
        this.counters.lastError = String(error);
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.buffer.length >= this.settings.batchSize || (this.closed && this.buffer.length > 0))
          this.pump(true);
      });
  }

  private async writeBatch(batch: CaptureEvent[]): Promise<void> {
    const byModel = new Map<string, CaptureEvent[]>();
    for (const event of batch) {
      const group = byModel.get(event.modelName) ?? [];
      group.push(event);
      byModel.set(event.modelName, group);
    }
    for (const [model, records] of byModel) {
      const first = new Date(records[0]?.time ?? Date.now());
      const key = this.batchKey(model, first);
      const attachments: Array<{ key: string; body: Uint8Array }> = [];
      const lines = records.map((r) => JSON.stringify(this.toRecord(r, key, attachments)));
      const files = [
        ...attachments.map((a) => ({ ...a, contentType: "application/octet-stream" })),
        // The batch file goes last so that whatever it references already exists.
        { key, body: new TextEncoder().encode(`${lines.join("\n")}\n`), contentType: "application/jsonl" },
      ];
      if (await this.writeWithRetries(files)) {
        this.counters.recordsWritten += records.length;
        this.counters.filesWritten++;
        this.counters.lastWrittenKey = key;
      } else {
        this.counters.uploadFailures++;
        this.counters.recordsLost += records.length;
      }
    }
  }

  private async writeWithRetries(
    files: Array<{ key: string; body: Uint8Array; contentType: string }>,
  ): Promise<boolean> {
    const { maxUploadAttempts, retryBaseMs, retryMaxMs } = this.settings;
    for (let attempt = 1; attempt <= maxUploadAttempts; attempt++) {
      if (this.abort.signal.aborted) return false;
      this.counters.uploadAttempts++;
      if (attempt > 1) this.counters.uploadRetries++;
      try {
        for (const file of files) await this.options.sink.write(file.key, file.body, file.contentType);
        return true;
      } catch (error) {
        this.counters.lastError = `${(error as Error).name}: ${(error as Error).message}`;
        this.log(
          `capture write of ${files.at(-1)?.key} failed (attempt ${attempt}/${maxUploadAttempts}): ${this.counters.lastError}`,
        );
        if (attempt === maxUploadAttempts || this.abort.signal.aborted) return false;
        const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
        // Full jitter spreads a fleet's retries after a shared outage.
        if (!(await sleep(delay / 2 + (this.random() * delay) / 2, this.abort.signal))) return false;
      }
    }
    return false;
  }

  private batchKey(model: string, time: Date): string {
    const iso = time.toISOString();
    const [year, month, day, hour] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13)];
    const stamp = iso.replace(/[-:.]/g, "");
    const seq = String(this.sequence++).padStart(6, "0");
    const { folderPrefix, deviceFleetName, deviceId } = this.settings;
    return [folderPrefix, deviceFleetName, model, year, month, day, hour, `${deviceId}-${stamp}-${seq}.jsonl`]
      .filter((part) => part !== "")
      .join("/");
  }

  private toRecord(
    event: CaptureEvent,
    batchKey: string,
    attachments: Array<{ key: string; body: Uint8Array }>,
  ): CaptureRecord {
    // The id is made here, off the predict path.
    const eventId = randomUUID();
    const auxInputs: CaptureAuxiliary[] = [];
    const auxOutputs: CaptureAuxiliary[] = [];
    const embed = (
      tensors: readonly NamedTensor[],
      aux: CaptureAuxiliary[],
      kind: string,
    ): CaptureTensor[] => {
      const embedded: CaptureTensor[] = [];
      for (const tensor of tensors) {
        if (tensor.data.byteLength <= this.settings.base64EmbedLimit) {
          embedded.push(encodeCaptureTensor(tensor));
          continue;
        }
        const key = `${batchKey.replace(/\.jsonl$/, "")}/${eventId}-${kind}-${tensor.name}.bin`;
        attachments.push({ key, body: tensorBytes(tensor.data) });
        aux.push({
          name: `${tensor.name}:${contentType(tensor.dtype, tensor.dims)}`,
          encoding: "NONE",
          "data-ref": this.options.sink.uri(key),
        });
      }
      return embedded;
    };
    const record: CaptureRecord = {
      eventMetadata: {
        deviceFleetName: this.settings.deviceFleetName,
        deviceId: this.settings.deviceId,
        eventId,
        inferenceTime: new Date(event.time).toISOString(),
        modelName: event.modelName,
        modelVersion: event.modelVersion,
      },
      eventVersion: CAPTURE_EVENT_VERSION,
      deviceFleetInputs: embed(event.inputs, auxInputs, "input"),
      deviceFleetOutputs: embed(event.outputs, auxOutputs, "output"),
    };
    if (auxInputs.length > 0) record.deviceFleetAuxiliaryInputs = auxInputs;
    if (auxOutputs.length > 0) record.deviceFleetAuxiliaryOutputs = auxOutputs;
    return record;
  }
}

export class CaptureSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaptureSettingsError";
  }
}

function validateSettings(settings: CaptureSettings): CaptureSettings {
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new CaptureSettingsError(message);
  };
  const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
  check(
    settings.samplingPercentage >= 0 && settings.samplingPercentage <= 100,
    `CaptureDataSamplingPercentage must be 0–100, got ${settings.samplingPercentage}`,
  );
  check(
    positiveInt(settings.bufferSize),
    `CaptureDataBufferSize must be a positive integer, got ${settings.bufferSize}`,
  );
  check(
    positiveInt(settings.batchSize),
    `CaptureDataBatchSize must be a positive integer, got ${settings.batchSize}`,
  );
  check(
    settings.batchSize <= settings.bufferSize,
    `CaptureDataBatchSize (${settings.batchSize}) must not exceed CaptureDataBufferSize (${settings.bufferSize})`,
  );
  check(
    settings.pushPeriodSeconds >= 0,
    `CaptureDataPushPeriodSeconds must be >= 0, got ${settings.pushPeriodSeconds}`,
  );
  check(
    settings.base64EmbedLimit >= 0,
    `CaptureDataBase64EmbedLimit must be >= 0, got ${settings.base64EmbedLimit}`,
  );
  check(
    positiveInt(settings.maxUploadAttempts),
    `CaptureDataUploadMaxAttempts must be a positive integer, got ${settings.maxUploadAttempts}`,
  );
  check(
    settings.deviceFleetName !== "" && !settings.deviceFleetName.includes("/"),
    "DeviceFleetName must be set and contain no '/'",
  );
  check(
    settings.deviceId !== "" && !settings.deviceId.includes("/"),
    "device id must be set and contain no '/'",
  );
  return settings;
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
