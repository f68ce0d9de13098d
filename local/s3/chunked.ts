/** Thrown when an aws-chunked body does not follow the framing it announces. */
export class ChunkedEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChunkedEncodingError";
  }
}

/** True when the SDK streamed the body with `aws-chunked` framing (signed or unsigned, with trailers). */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = String(headers["content-encoding"] ?? "");
  const sha = String(headers["x-amz-content-sha256"] ?? "");
  return encoding.split(",").some((e) => e.trim() === "aws-chunked") || sha.startsWith("STREAMING-");
}

/**
 * Strips aws-chunked framing (`<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailers>\r\n`).
 * Newer SDKs and CLIs send uploads this way with a CRC32 trailer; the S3 store underneath only
 * knows plain bodies.
 */
export function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", pos);
    if (eol < 0) throw new ChunkedEncodingError(`aws-chunked body ends without a final chunk at byte ${pos}`);
    const header = body.subarray(pos, eol).toString("latin1");
    const size = Number.parseInt(header.split(";")[0] ?? "", 16);
    if (!Number.isInteger(size) || size < 0)
      throw new ChunkedEncodingError(`bad aws-chunked chunk header "${header}"`);
    if (size === 0) return Buffer.concat(parts);
    const start = eol + 2;
    if (start + size > body.length)
      throw new ChunkedEncodingError("aws-chunked chunk is longer than the body");
    parts.push(body.subarray(start, start + size));
    pos = start + size + 2;
  }
}
