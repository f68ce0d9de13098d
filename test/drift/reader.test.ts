import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ReadCounts, readCapture } from "../../functions/drift/reader.ts";
import type { CaptureRecord, QuarantineEntry } from "../../functions/drift/record.ts";
import { captureLine } from "./generate.ts";

type Seen = {
  records: { meta: unknown[]; tensors: [string, string, number[]][] }[];
  quarantine: QuarantineEntry[];
  counts: ReadCounts;
};

/** Reads `bytes` split into chunks of `chunk` bytes (exercises lines that straddle chunks). */
async function read(
  bytes: Buffer,
  opts: { mode?: "auto" | "strict"; chunk?: number; maxLineBytes?: number } = {},
): Promise<Seen> {
  const size = opts.chunk ?? 64 * 1024;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const records: Seen["records"] = [];
  const quarantine: QuarantineEntry[] = [];
  const counts = await readCapture(
    chunks,
    "f.jsonl",
    {
      record: (r: CaptureRecord) =>
        records.push({
          meta: [r.fleet, r.device, r.model, r.modelVersion, r.inferenceTime],
          tensors: r.tensors.map((t) => [t.kind, t.name, Array.from(t.values)]),
        }),
      quarantine: (q) => quarantine.push(q),
    },
    { mode: opts.mode, maxLineBytes: opts.maxLineBytes },
  );
  return { records, quarantine, counts };
}

const reconcile = (s: Seen) => {
  expect(s.counts.valid + s.counts.quarantined).toBe(s.counts.total);
  expect(s.records.length).toBe(s.counts.valid);
  expect(s.quarantine.length).toBe(s.counts.quarantined);
};

const f32 = (...xs: number[]) => new Float32Array(xs);
const good = (i: number) =>
  captureLine({ eventId: `e${i}`, inputs: f32(i, i + 0.5), outputs: f32(0.1, 0.9) });

describe("capture reader: bad-input corpus", () => {
  const withTensor = (patch: Record<string, unknown>) => {
    const doc = JSON.parse(good(0));
    Object.assign(doc.deviceFleetInputs[0], patch);
    return JSON.stringify(doc);
  };
  const cases: [string, string | Buffer, RegExp][] = [
    ["invalid JSON", "{bad json", /^invalid JSON/],
    ["truncated line", good(1).slice(0, 120), /^invalid JSON/],
    [
      "bad base64",
      withTensor({ data: "@@@@" }),
      /deviceFleetInputs\[0\] \(input\): data is not valid base64/,
    ],
    [
      "shape/length mismatch",
      withTensor({ observedContentType: "Tensor[float32; 1, 16]" }),
      /has 8 bytes but Tensor\[float32; 1, 16\] needs 64/,
    ],
    [
      "unknown dtype",
      withTensor({ observedContentType: "Tensor[complex64; 1, 2]" }),
      /unknown dtype "complex64"/,
    ],
    [
      "bad content type",
      withTensor({ observedContentType: "image/png" }),
      /is not Tensor\[<dtype>; <dims>\]/,
    ],
    ["NaN literal in JSON", good(2).replace('"eventVersion":"1.0"', '"eventVersion":NaN'), /^invalid JSON/],
    ["missing metadata", JSON.stringify({ deviceFleetInputs: [] }), /eventMetadata is missing/],
    [
      "metadata field not a string",
      good(3).replace('"modelName":"classifier"', '"modelName":7'),
      /eventMetadata.modelName is missing or not a string/,
    ],
    ["not an object", "[1,2,3]", /not a JSON object/],
    [
      "no tensors",
      good(4).replace(/"deviceFleetInputs".*$/, '"deviceFleetInputs":[]}'),
      /no deviceFleetInputs or deviceFleetOutputs/,
    ],
    [
      "non-UTF-8 bytes",
      Buffer.concat([
        Buffer.from(good(5).slice(0, 60)),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(good(5).slice(60)),
      ]),
      /not valid UTF-8/,
    ],
  ];

  for (const [name, bad, reason] of cases) {
    it(`${name}: quarantined with a reason, the rest still read`, async () => {
      const bytes = Buffer.concat([
        Buffer.from(`${good(10)}\n`),
        Buffer.from(bad),
        Buffer.from(`\n${good(11)}\n`),
      ]);
      for (const mode of ["auto", "strict"] as const) {
        const s = await read(bytes, { mode });
        reconcile(s);
        expect(s.counts).toMatchObject({ total: 3, valid: 2, quarantined: 1 });
        expect(s.quarantine[0]).toMatchObject({ file: "f.jsonl", line: 2 });
        expect(s.quarantine[0]?.reason).toMatch(reason);
        expect(s.records.map((r) => r.tensors[0]?.[2])).toEqual([
          [10, 10.5],
          [11, 11.5],
        ]);
      }
    });
  }

  it("NaN and ±Infinity inside tensors are valid records; the values are handed on, not dropped", async () => {
    const line = captureLine({ inputs: f32(Number.NaN, Number.POSITIVE_INFINITY, 1) });
    const s = await read(Buffer.from(`${line}\n`));
    reconcile(s);
    expect(s.counts).toMatchObject({ total: 1, valid: 1, quarantined: 0 });
    expect(s.records[0]?.tensors[0]?.[2]).toEqual([Number.NaN, Number.POSITIVE_INFINITY, 1]);
  });

  it("empty file: zero records", async () => {
    const s = await read(Buffer.alloc(0));
    expect(s.counts).toEqual({ total: 0, valid: 0, quarantined: 0, strict: 0 });
  });

  it("blank lines and CRLF endings are not records", async () => {
    const s = await read(Buffer.from(`\n${good(1)}\r\n  \r\n\n${good(2)}\r\n`));
    reconcile(s);
    expect(s.counts).toMatchObject({ total: 2, valid: 2 });
    expect(s.counts.strict).toBe(0);
  });

  it("gzip by magic bytes, whatever the name: same result as plain", async () => {
    const plain = Buffer.from(`${good(1)}\n{oops\n${good(2)}\n`);
    const a = await read(plain);
    const b = await read(gzipSync(plain), { chunk: 7 });
    expect(b).toEqual(a);
  });

  it("truncated gzip: what was readable is kept, the unreadable tail counted once", async () => {
    const z = gzipSync(Buffer.from(Array.from({ length: 2000 }, (_, i) => good(i)).join("\n")));
    const s = await read(z.subarray(0, Math.floor(z.length * 0.6)));
    reconcile(s);
    expect(s.counts.valid).toBeGreaterThan(100);
    expect(s.quarantine.at(-1)?.reason).toMatch(/unreadable gzip data after line \d+/);
  });

  it("a 10 MB single line is quarantined without being buffered, the next line still read", async () => {
    const huge = `{"eventMetadata":{"x":"${"A".repeat(10 * 1024 * 1024)}"}}`;
    const bytes = Buffer.from(`${good(1)}\n${huge}\n${good(2)}\n`);
    const before = process.memoryUsage().arrayBuffers;
    const s = await read(bytes, { chunk: 256 * 1024 });
    reconcile(s);
    expect(s.counts).toMatchObject({ total: 3, valid: 2, quarantined: 1 });
    expect(s.quarantine[0]).toEqual({
      file: "f.jsonl",
      line: 2,
      reason: `line of ${huge.length} bytes exceeds the 1048576-byte limit`,
    });
    // The splitter holds at most one chunk plus one partial line of up to the limit.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
  });

  it("the final line without a newline is read; cut short it is quarantined", async () => {
    const s = await read(Buffer.from(`${good(1)}\n${good(2).slice(0, 50)}`));
    reconcile(s);
    expect(s.quarantine).toEqual([
      { file: "f.jsonl", line: 2, reason: expect.stringMatching(/^invalid JSON/) },
    ]);
  });

  it("decodes every supported dtype little-endian", async () => {
    const tensor = (dtype: string, bytes: Buffer, dims: string) => ({
      name: dtype,
      data: bytes.toString("base64"),
      observedContentType: `Tensor[${dtype}; ${dims}]`,
    });
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-5n, 0);
    i64.writeBigInt64LE(1n << 40n, 8);
    const doc = {
      eventMetadata: { deviceFleetName: "f", deviceId: "d", modelName: "m" },
      deviceFleetInputs: [
        tensor("float64", Buffer.from(new Float64Array([1.25, -2]).buffer), "2"),
        tensor("int32", Buffer.from(new Int32Array([-7, 9]).buffer), "1, 2"),
        tensor("int64", i64, "2"),
        tensor("uint8", Buffer.from([0, 255]), "2"),
        tensor("int8", Buffer.from([0xff]), "1"),
        tensor("float16", Buffer.from([0x00, 0x3c]), "1"),
      ],
    };
    const s = await read(Buffer.from(`${JSON.stringify(doc)}\n`));
    expect(s.records[0]?.tensors.map((t) => t[2])).toEqual([
      [1.25, -2],
      [-7, 9],
      [-5, 2 ** 40],
      [0, 255],
      [-1],
      [1],
    ]);
  });
});

describe("fast path and strict path agree", () => {
  const name = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("fleet-a", "dev-1", "m", "") },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }) },
  );
  const floats = fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 0, maxLength: 20 });
  const extra = fc.oneof(
    { weight: 3, arbitrary: fc.constant({}) },
    {
      weight: 2,
      arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
    },
  );
  const record = fc.record({
    fleet: name,
    device: name,
    model: name,
    version: fc.option(name, { nil: undefined }),
    inputs: floats,
    outputs: floats,
    extraTop: extra,
    extraMeta: extra,
    dtype: fc.constantFrom("float32", "float32", "float32", "int32", "complex"),
    space: fc.constantFrom("", " ", "\t"),
  });
  const toLine = (r: typeof record extends fc.Arbitrary<infer T> ? T : never) => {
    const t = (tensor: string, xs: number[]) => ({
      name: tensor,
      data: Buffer.from(new Float32Array(xs).buffer).toString("base64"),
      observedContentType: `Tensor[${r.dtype}; 1, ${xs.length}]`,
    });
    const doc = {
      ...r.extraTop,
      eventMetadata: {
        ...r.extraMeta,
        deviceFleetName: r.fleet,
        deviceId: r.device,
        modelName: r.model,
        ...(r.version === undefined ? {} : { modelVersion: r.version }),
      },
      deviceFleetInputs: [t("input", r.inputs)],
      deviceFleetOutputs: [t("probabilities", r.outputs)],
    };
    return JSON.stringify(doc, null, r.space);
  };
  const mutation = fc.option(
    fc.tuple(
      fc.nat(),
      fc.constantFrom("delete", "insert", "flip"),
      fc.constantFrom(...'{}[]",:\\ 0aé\u0000\u00ff'),
    ),
    { freq: 2 },
  );

  it("identical records, quarantine entries and counts on generated and mutated lines", async () => {
    let tookFastPath = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(record, mutation), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 300 }),
        async (rows, chunk) => {
          const lines = rows.map(([r, m]) => {
            let line = r.space === "\t" ? toLine(r).replace(/\n/g, "") : toLine(r).replace(/\n/g, " ");
            if (m !== null) {
              const [at, op, ch] = m;
              const i = at % (line.length + 1);
              line =
                op === "delete"
                  ? line.slice(0, i) + line.slice(i + 1)
                  : op === "insert"
                    ? line.slice(0, i) + ch + line.slice(i)
                    : line.slice(0, i) + ch + line.slice(i + 1);
            }
            return line.replace(/\n/g, "");
          });
          const bytes = Buffer.from(`${lines.join("\n")}\n`);
          const fast = await read(bytes, { mode: "auto", chunk });
          const strict = await read(bytes, { mode: "strict", chunk });
          reconcile(fast);
          expect(fast.records).toEqual(strict.records);
          expect(fast.quarantine).toEqual(strict.quarantine);
          expect({ ...fast.counts, strict: 0 }).toEqual({ ...strict.counts, strict: 0 });
          tookFastPath += fast.counts.valid - fast.counts.strict;
        },
      ),
      { numRuns: 300 },
    );
    // The comparison means something only if the fast path took a good share of the lines.
    expect(tookFastPath).toBeGreaterThan(200);
  });

  it("plain capture lines never need the strict path", async () => {
    const s = await read(Buffer.from(`${Array.from({ length: 50 }, (_, i) => good(i)).join("\n")}\n`));
    expect(s.counts).toMatchObject({ total: 50, valid: 50, strict: 0 });
  });
});
