import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";

/** Longest line read as a record; longer lines are skipped without being held whole. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

const toBuffer = (v: Uint8Array | string): Buffer =>
  typeof v === "string"
    ? Buffer.from(v)
    : Buffer.isBuffer(v)
      ? v
      : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Yields the bytes of a file, gunzipped when it starts with the gzip magic bytes (1f 8b) whatever
 * its name says — devices and upload tools are inconsistent about `.gz` suffixes.
 */
export async function* decompressed(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
): AsyncGenerator<Buffer> {
  const it = (async function* () {
    yield* source;
  })();
  let head: Buffer = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = head.length === 0 ? toBuffer(r.value) : Buffer.concat([head, toBuffer(r.value)]);
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBuffer(r.value);
    }
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    // pipeline (not pipe) so a failing source also ends the gunzip iteration with its error.
    pipeline(Readable.from(all()), gunzip, () => {});
    yield* gunzip as AsyncIterable<Buffer>;
  } else {
    yield* all();
  }
}

export interface LineHandler {
  /** A complete line without its newline. The buffer may be a view into a reused chunk. */
  line(bytes: Buffer, lineNo: number): void;
  /** A line longer than the limit: only its length is known, its bytes were dropped as they streamed. */
  oversized(lineNo: number, bytes: number): void;
}

/**
 * Splits a byte stream into lines with bounded memory: at most one chunk plus one partial line of at
 * most `maxLineBytes`. Returns the number of lines seen (a final line without newline counts).
 */
export async function splitLines(
  chunks: AsyncIterable<Buffer>,
  handler: LineHandler,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): Promise<number> {
  let carry: Buffer[] = [];
  let carryLen = 0;
  let dropping = false;
  let dropped = 0;
  let lineNo = 0;
  for await (const chunk of chunks) {
    let pos = 0;
    if (dropping || carryLen > 0) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        if (dropping) dropped += chunk.length;
        else if (carryLen + chunk.length > maxLineBytes) {
          dropping = true;
          dropped = carryLen + chunk.length;
          carry = [];
          carryLen = 0;
        } else {
          carry.push(chunk);
          carryLen += chunk.length;
        }
        continue;
      }
      lineNo++;
      if (dropping) handler.oversized(lineNo, dropped + nl);
      else if (carryLen + nl > maxLineBytes) handler.oversized(lineNo, carryLen + nl);
      else {
        carry.push(chunk.subarray(0, nl));
        handler.line(Buffer.concat(carry, carryLen + nl), lineNo);
      }
      dropping = false;
      dropped = 0;
      carry = [];
      carryLen = 0;
      pos = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl === -1) break;
      lineNo++;
      if (nl - pos > maxLineBytes) handler.oversized(lineNo, nl - pos);
      else handler.line(chunk.subarray(pos, nl), lineNo);
      pos = nl + 1;
    }
    const rest = chunk.length - pos;
    if (rest > maxLineBytes) {
      dropping = true;
      dropped = rest;
    } else if (rest > 0) {
      carry = [chunk.subarray(pos)];
      carryLen = rest;
    }
  }
  if (dropping) handler.oversized(++lineNo, dropped);
  else if (carryLen > 0) handler.line(Buffer.concat(carry, carryLen), ++lineNo);
  return lineNo;
}
