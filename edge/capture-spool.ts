import type { Dirent } from "node:fs";
import { readdir, readFile, unlink } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { CaptureSink } from "./capture-sink.ts";
import { DiskCaptureSink } from "./capture-sink.ts";

export interface SpoolStats {
  /** Files waiting on disk at the end of the last pass. */
  pendingFiles: number;
  uploadedFiles: number;
  /** Upload attempts that failed; the file stays and is tried again next period. */
  failedUploads: number;
  lastError?: string;
}

/**
 * Writes go to disk under the final key; `uri` already names where the object will end up, so
 * a `data-ref` stays valid after the upload.
 */
export class SpoolingSink implements CaptureSink {
  readonly disk: DiskCaptureSink;

  constructor(
    readonly spoolDir: string,
    private readonly destination: CaptureSink,
  ) {
    this.disk = new DiskCaptureSink(spoolDir);
  }

  write(key: string, body: string | Uint8Array): Promise<void> {
    return this.disk.write(key, body);
  }

  uri(key: string): string {
    return this.destination.uri(key);
  }
}

export interface SpoolUploaderOptions {
  spoolDir: string;
  destination: CaptureSink;
  /** CaptureDataPeriodicUploadPeriodSeconds. */
  periodSeconds: number;
  log?: (message: string) => void;
}

/**
 * Edge Manager's CaptureDataPeriodicUpload: capture batches are spooled on disk and uploaded
 * every period, oldest first, each deleted once uploaded. An outage of any length loses
 * nothing (files wait, also across restarts) at the cost of disk space.
 */
export class SpoolUploader {
  private readonly counters: SpoolStats = { pendingFiles: 0, uploadedFiles: 0, failedUploads: 0 };
  private readonly timer: NodeJS.Timeout;
  private pass: Promise<void> | undefined;

  constructor(private readonly options: SpoolUploaderOptions) {
    this.timer = setInterval(() => void this.uploadPending(), options.periodSeconds * 1000);
    this.timer.unref();
  }

  stats(): SpoolStats {
    return { ...this.counters };
  }

  /** One upload pass; a pass already running is joined rather than doubled. */
  uploadPending(): Promise<void> {
    this.pass ??= this.runPass().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  /** Stops the timer and makes a last pass, bounded by timeoutMs; what remains stays on disk. */
  async close(timeoutMs = 10_000): Promise<SpoolStats> {
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.uploadPending(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.stats();
  }

  private async runPass(): Promise<void> {
    const keys = await this.pendingKeys();
    let remaining = keys.length;
    for (const key of keys) {
      const path = join(this.options.spoolDir, ...key.split("/"));
      try {
        await this.options.destination.write(key, await readFile(path), contentTypeOf(key));
        await unlink(path);
        this.counters.uploadedFiles++;
        remaining--;
      } catch (error) {
        this.counters.failedUploads++;
        this.counters.lastError = `${(error as Error).name}: ${(error as Error).message}`;
        this.options.log?.(
          `spooled capture upload of ${key} failed; retrying next period: ${this.counters.lastError}`,
        );
        // The destination is likely down: the rest waits for the next period.
        break;
      }
    }
    this.counters.pendingFiles = remaining;
  }

  /** Spooled keys, attachments before the batch files that reference them, oldest batch first. */
  private async pendingKeys(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.options.spoolDir, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const keys = entries
      .filter((e) => e.isFile() && !e.name.endsWith(".tmp"))
      .map((e) => relative(this.options.spoolDir, join(e.parentPath, e.name)).split(sep).join("/"));
    const batches = keys.filter((k) => k.endsWith(".jsonl")).sort();
    return [...keys.filter((k) => !k.endsWith(".jsonl")).sort(), ...batches];
  }
}

function contentTypeOf(key: string): string {
  return key.endsWith(".jsonl") ? "application/jsonl" : "application/octet-stream";
}
