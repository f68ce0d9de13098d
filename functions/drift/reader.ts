import { CaptureReadError } from "./errors.ts";
import { FastRecordParser } from "./fast-parse.ts";
import { DEFAULT_MAX_LINE_BYTES, decompressed, splitLines } from "./lines.ts";
import type { CaptureRecord, QuarantineEntry } from "./record.ts";
import { parseStrict } from "./strict-parse.ts";
import type { TensorSlot } from "./tensor.ts";

export interface RecordConsumer {
  /** A valid record; its tensor values are only valid during the call. */
  record(r: CaptureRecord): void;
  quarantine(q: QuarantineEntry): void;
}

export interface ReadCounts {
  /** Records seen: non-blank lines plus one for an unreadable (e.g. truncated gzip) tail. */
  total: number;
  valid: number;
  quarantined: number;
  /** How many valid records the strict path had to take (diagnostics for the benchmark). */
  strict: number;
}

export interface ReadOptions {
  maxLineBytes?: number;
  /** "strict" skips the fast path; used to check both paths agree. */
  mode?: "auto" | "strict";
  /** Called every `progressEvery` records, e.g. for a progress line on a TTY. */
  onProgress?: (counts: ReadCounts) => void;
  progressEvery?: number;
}

const isBlank = (b: Buffer) => {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
};

/**
 * Streams one capture file (plain or gzip JSON Lines) into `consumer`. Bad lines are quarantined with
 * file, line and reason and the rest of the file is still read; `valid + quarantined === total`.
 * Throws CaptureReadError only when the source itself fails (missing file, network), not for bad data.
 * @example const counts = await readCapture(createReadStream(path), path, { record: (r) => profile.add(r), quarantine: (q) => bad.push(q) });
 */
export async function readCapture(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  file: string,
  consumer: RecordConsumer,
  options: ReadOptions = {},
): Promise<ReadCounts> {
  const counts: ReadCounts = { total: 0, valid: 0, quarantined: 0, strict: 0 };
  const slots: TensorSlot[] = [];
  const fast = options.mode === "strict" ? undefined : new FastRecordParser(slots);
  const every = options.progressEvery ?? 100_000;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const reject = (line: number, reason: string) => {
    counts.quarantined++;
    consumer.quarantine({ file, line, reason });
  };
  const tick = () => {
    if (options.onProgress !== undefined && counts.total % every === 0) options.onProgress(counts);
  };
  let lastLine = 0;
  try {
    await splitLines(
      decompressed(source),
      {
        line(bytes, lineNo) {
          lastLine = lineNo;
          if (
            bytes.length === 0 ||
            ((bytes[0] === 32 || bytes[0] === 9 || bytes[0] === 13) && isBlank(bytes))
          )
            return;
          counts.total++;
          let rec: CaptureRecord | { error: string } | undefined = fast?.parse(bytes);
          if (rec === undefined) {
            rec = parseStrict(bytes, slots);
            if ("error" in rec) {
              reject(lineNo, rec.error);
              tick();
              return;
            }
            counts.strict++;
          }
          counts.valid++;
          consumer.record(rec);
          tick();
        },
        oversized(lineNo, bytes) {
          lastLine = lineNo;
          counts.total++;
          reject(lineNo, `line of ${bytes} bytes exceeds the ${maxLineBytes}-byte limit`);
        },
      },
      maxLineBytes,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A corrupt or truncated gzip stream spoils only what follows: keep what was read, count the rest once.
    if (typeof code === "string" && code.startsWith("Z_")) {
      counts.total++;
      reject(lastLine + 1, `unreadable gzip data after line ${lastLine}: ${(err as Error).message}`);
    } else {
      throw new CaptureReadError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  return counts;
}
