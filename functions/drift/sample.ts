import { createReadStream } from "node:fs";
import { SampleFormatError } from "./errors.ts";
import { decompressed, splitLines } from "./lines.ts";
import { type FeatureStats, Profile } from "./profile.ts";
import { readCapture } from "./reader.ts";
import type { QuarantineEntry } from "./record.ts";
import { CategoricalStats, NumericStats } from "./stats.ts";

export type SampleFormat = "csv" | "jsonl" | "capture";

export interface SampleProfile {
  format: SampleFormat;
  /** Rows (records) in the sample: the completeness denominator. */
  records: number;
  features: FeatureStats[];
  /** Rows that could not be used (bad JSON, wrong field count, unreadable capture records). */
  skipped: QuarantineEntry[];
}

/** One column while its type is still open: numeric until a non-numeric value shows up. */
class Column {
  readonly numeric = new NumericStats();
  readonly strings = new CategoricalStats();
  nonNumeric = 0;

  add(v: unknown): void {
    if (v === null || v === undefined || v === "") return;
    if (typeof v === "number") {
      this.numeric.add(v);
      this.strings.addValue(String(v));
      return;
    }
    const s = String(v);
    const x = NUMBER.test(s) ? Number(s) : Number.NaN;
    if (Number.isFinite(x) || /^[+-]?(nan|inf(inity)?)$/i.test(s))
      this.numeric.add(Number.isFinite(x) ? x : Number.NaN);
    else this.nonNumeric++;
    this.strings.addValue(s);
  }

  result(name: string): FeatureStats {
    const numeric = this.nonNumeric === 0 && this.numeric.present + this.numeric.nonFinite > 0;
    return { name, kind: "input", stats: numeric ? this.numeric : this.strings };
  }
}

const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

const lines = (path: string) => decompressed(createReadStream(path, { highWaterMark: 1 << 18 }));

/** Sniffs the format from the first non-blank line: a JSON object with eventMetadata is capture data. */
export async function detectFormat(path: string): Promise<SampleFormat> {
  let first: string | undefined;
  const stream = lines(path);
  try {
    let carry = "";
    for await (const chunk of stream) {
      carry += chunk.toString("utf8");
      const lineList = carry.split("\n");
      const found = lineList.slice(0, -1).find((l) => l.trim() !== "");
      if (found !== undefined) {
        first = found;
        break;
      }
      carry = lineList[lineList.length - 1] ?? "";
      if (carry.length > 1 << 22) break;
    }
    if (first === undefined && carry.trim() !== "") first = carry;
  } finally {
    await stream.return(undefined);
  }
  if (first === undefined) throw new SampleFormatError(`${path} is empty`);
  const t = first.trim();
  if (t.startsWith("{")) return /"eventMetadata"\s*:/.test(t) ? "capture" : "jsonl";
  return "csv";
}

/**
 * Profiles a baseline sample: CSV with a header row, JSON Lines of flat objects (arrays become
 * `key_i`, nested objects `a.b`), or Edge Manager capture files. Plain or gzip.
 * @example const sample = await profileSample("train.csv"); statisticsJson(sample.features, sample.records);
 */
export async function profileSample(path: string, format?: SampleFormat): Promise<SampleProfile> {
  const fmt = format ?? (await detectFormat(path));
  if (fmt === "capture") {
    const profile = new Profile();
    const skipped: QuarantineEntry[] = [];
    const counts = await readCapture(
      createReadStream(path, { highWaterMark: 1 << 18 }),
      path,
      profile.consumer((q) => skipped.push(q)),
    );
    const all = profile.rollup();
    if (all === undefined)
      throw new SampleFormatError(
        `${path} has no readable capture records (${counts.quarantined} quarantined)`,
      );
    return { format: fmt, records: all.records, features: all.features(), skipped };
  }
  const columns = new Map<string, Column>();
  const skipped: QuarantineEntry[] = [];
  let header: string[] | undefined;
  let records = 0;
  const column = (name: string) => {
    let c = columns.get(name);
    if (c === undefined) {
      c = new Column();
      columns.set(name, c);
    }
    return c;
  };
  await splitLines(lines(path), {
    line(bytes, lineNo) {
      const text = bytes.toString("utf8").replace(/\r$/, "");
      if (text.trim() === "") return;
      if (fmt === "csv") {
        const fields = parseCsvLine(text);
        if (header === undefined) {
          header = fields.map((h, i) => h.trim() || `column_${i}`);
          for (const h of header) column(h);
          return;
        }
        if (fields.length !== header.length) {
          skipped.push({
            file: path,
            line: lineNo,
            reason: `${fields.length} fields, header has ${header.length}`,
          });
          return;
        }
        records++;
        fields.forEach((v, i) => {
          column(header?.[i] as string).add(v);
        });
        return;
      }
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        skipped.push({
          file: path,
          line: lineNo,
          reason: `invalid JSON: ${(err as Error).message.slice(0, 120)}`,
        });
        return;
      }
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        skipped.push({ file: path, line: lineNo, reason: "not a JSON object" });
        return;
      }
      records++;
      flatten(doc as Record<string, unknown>, "", (k, v) => column(k).add(v));
    },
    oversized(lineNo, n) {
      skipped.push({ file: path, line: lineNo, reason: `line of ${n} bytes is too long` });
    },
  });
  if (records === 0) throw new SampleFormatError(`${path} has no data rows`);
  return { format: fmt, records, features: [...columns].map(([name, c]) => c.result(name)), skipped };
}

function flatten(obj: Record<string, unknown>, prefix: string, emit: (k: string, v: unknown) => void): void {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix + k;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (typeof x !== "object" || x === null) emit(`${name}_${i}`, x);
      });
    } else if (typeof v === "object" && v !== null) flatten(v as Record<string, unknown>, `${name}.`, emit);
    else emit(name, typeof v === "boolean" ? String(v) : v);
  }
}

/** RFC 4180 fields of one line (quoted fields may hold commas and doubled quotes, not newlines). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          v += line.slice(i);
          i = line.length;
          break;
        }
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      const comma = line.indexOf(",", i);
      if (comma === -1) return out;
      i = comma + 1;
    } else {
      const comma = line.indexOf(",", i);
      if (comma === -1) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}
