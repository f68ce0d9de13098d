import type { CaptureRecord, TensorKind, TensorValues } from "./record.ts";
import { parseContentType, slotAt, type TensorSlot } from "./tensor.ts";

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACK = 91;
const RBRACK = 93;
const BACKSLASH = 92;
const FAIL = -1;
const MAX_DEPTH = 64;

const key = (s: string) => Buffer.from(s, "latin1");
const TOP_KEYS = ["eventMetadata", "deviceFleetInputs", "deviceFleetOutputs"].map(key);
const META_KEYS = [
  "deviceFleetName",
  "deviceId",
  "modelName",
  "modelVersion",
  "eventId",
  "inferenceTime",
].map(key);
const META_BY_LENGTH: number[] = [];
META_KEYS.forEach((k, i) => {
  META_BY_LENGTH[k.length] = i;
});
const TENSOR_KEYS = ["name", "data", "observedContentType"].map(key);

/**
 * The fast path: walks one line's bytes once, validating JSON syntax as it goes, and keeps only the
 * fields drift analysis needs. Tensor data is base64-decoded straight from the line into reusable
 * typed arrays, so no record object, no data string and no intermediate Buffer is built
 * (JSON.parse of every whole record is the bottleneck this avoids).
 *
 * It never reports why a line is bad: on anything it is not sure of (escapes, non-ASCII, duplicate
 * keys, a decode failure) it returns undefined and the strict path decides, which is what keeps both
 * paths' results identical.
 */
export class FastRecordParser {
  private b: Buffer = Buffer.alloc(0);
  private end = 0;
  private readonly meta: (string | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  // Last string produced per field: fleet, device, model, version, tensor names and types repeat on
  // nearly every line, and comparing a few bytes is cheaper than building a new string each time.
  private readonly internBytes: Buffer[] = [];
  private readonly internStrings: string[] = [];
  private readonly tensors: TensorValues[] = [];

  constructor(private readonly slots: TensorSlot[]) {}

  parse(line: Buffer): CaptureRecord | undefined {
    // Without backslashes no string can contain a quote, so indexOf finds every string's end.
    if (line.indexOf(BACKSLASH) !== -1) return undefined;
    this.b = line;
    this.end = line.length;
    this.meta.fill(undefined);
    // Reused across lines: a record is only valid during the consumer's call.
    this.tensors.length = 0;
    let sawMeta = false;
    let sawInputs = false;
    let sawOutputs = false;
    const b = line;
    let p = this.ws(0);
    if (b[p] !== LBRACE) return undefined;
    p = this.ws(p + 1);
    if (b[p] === RBRACE) return undefined;
    for (;;) {
      if (b[p] !== QUOTE) return undefined;
      const ks = p + 1;
      const ke = b.indexOf(QUOTE, ks);
      if (ke === -1) return undefined;
      p = this.ws(ke + 1);
      if (b[p] !== COLON) return undefined;
      p = this.ws(p + 1);
      const which = this.knownKey(ks, ke, TOP_KEYS);
      if (which < -1) return undefined;
      if (which === 0) {
        if (sawMeta) return undefined;
        sawMeta = true;
        p = this.metadata(p);
      } else if (which === 1) {
        if (sawInputs) return undefined;
        sawInputs = true;
        p = this.tensorArray(p, "input");
      } else if (which === 2) {
        if (sawOutputs) return undefined;
        sawOutputs = true;
        p = this.tensorArray(p, "output");
      } else {
        p = this.skipValue(p, 0);
      }
      if (p === FAIL) return undefined;
      p = this.ws(p);
      if (b[p] === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      if (b[p] !== RBRACE) return undefined;
      break;
    }
    if (this.ws(p + 1) !== this.end) return undefined;
    const [fleet, device, model, modelVersion, , inferenceTime] = this.meta;
    if (fleet === undefined || device === undefined || model === undefined || this.tensors.length === 0)
      return undefined;
    return { fleet, device, model, modelVersion, inferenceTime, tensors: this.tensors };
  }

  private ws(p: number): number {
    const b = this.b;
    while (p < this.end) {
      const c = b[p] as number;
      if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
      p++;
    }
    return p;
  }

  /** End of a string starting at `s` (after the quote); FAIL unless every byte is printable ASCII. */
  private stringEnd(s: number): number {
    const e = this.b.indexOf(QUOTE, s);
    return e === -1 || !this.printable(s, e) ? FAIL : e;
  }

  /** JSON.parse rejects control characters in strings, and latin1 decoding is only right for ASCII. */
  private printable(s: number, e: number): boolean {
    const b = this.b;
    for (let i = s; i < e; i++) {
      const c = b[i] as number;
      if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
  }

  /** The string at [s, e); undefined unless printable ASCII. A repeat of the field's last value is neither re-checked nor re-built. */
  private intern(field: number, s: number, e: number): string | undefined {
    const prev = this.internBytes[field];
    if (prev !== undefined && this.is(s, e, prev)) return this.internStrings[field] as string;
    if (!this.printable(s, e)) return undefined;
    const value = this.b.toString("latin1", s, e);
    this.internBytes[field] = Buffer.from(this.b.subarray(s, e));
    this.internStrings[field] = value;
    return value;
  }

  /** Index of the known key at [s, e) in `keys`, or -1 after checking the unknown key is printable (FAIL if not). */
  private knownKey(s: number, e: number, keys: readonly Buffer[]): number {
    for (let i = 0; i < keys.length; i++) if (this.is(s, e, keys[i] as Buffer)) return i;
    return this.printable(s, e) ? -1 : FAIL - 1;
  }

  private is(s: number, e: number, k: Buffer): boolean {
    if (e - s !== k.length) return false;
    const b = this.b;
    for (let i = 0; i < k.length; i++) if (b[s + i] !== k[i]) return false;
    return true;
  }

  private metadata(p: number): number {
    const b = this.b;
    if (b[p] !== LBRACE) return FAIL;
    p = this.ws(p + 1);
    if (b[p] === RBRACE) return p + 1;
    for (;;) {
      if (b[p] !== QUOTE) return FAIL;
      const ks = p + 1;
      const ke = b.indexOf(QUOTE, ks);
      if (ke === -1) return FAIL;
      p = this.ws(ke + 1);
      if (b[p] !== COLON) return FAIL;
      p = this.ws(p + 1);
      // The six metadata keys all differ in length: one comparison finds the candidate.
      let slot = META_BY_LENGTH[ke - ks] ?? -1;
      if (slot >= 0 && !this.is(ks, ke, META_KEYS[slot] as Buffer)) slot = -1;
      if (slot < 0 && !this.printable(ks, ke)) return FAIL;
      if (slot >= 0) {
        if (this.meta[slot] !== undefined || b[p] !== QUOTE) return FAIL;
        const vs = p + 1;
        const ve = b.indexOf(QUOTE, vs);
        if (ve === -1) return FAIL;
        let value: string | undefined;
        if (slot < 4) value = this.intern(slot, vs, ve);
        // eventId (slot 4) is validated but not kept: nothing downstream reads it.
        else if (this.printable(vs, ve)) value = slot === 4 ? "" : b.toString("latin1", vs, ve);
        if (value === undefined) return FAIL;
        this.meta[slot] = value;
        p = ve + 1;
      } else {
        p = this.skipValue(p, 1);
        if (p === FAIL) return FAIL;
      }
      p = this.ws(p);
      if (b[p] === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      return b[p] === RBRACE ? p + 1 : FAIL;
    }
  }

  private tensorArray(p: number, kind: TensorKind): number {
    const b = this.b;
    if (b[p] !== LBRACK) return FAIL;
    p = this.ws(p + 1);
    if (b[p] === RBRACK) return p + 1;
    for (;;) {
      p = this.tensor(p, kind);
      if (p === FAIL) return FAIL;
      p = this.ws(p);
      if (b[p] === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      return b[p] === RBRACK ? p + 1 : FAIL;
    }
  }

  private tensor(p: number, kind: TensorKind): number {
    const b = this.b;
    if (b[p] !== LBRACE) return FAIL;
    p = this.ws(p + 1);
    let ns = -1;
    let ne = -1;
    let ds = -1;
    let de = -1;
    let ts = -1;
    let te = -1;
    if (b[p] === RBRACE) return FAIL;
    for (;;) {
      if (b[p] !== QUOTE) return FAIL;
      const ks = p + 1;
      const ke = b.indexOf(QUOTE, ks);
      if (ke === -1) return FAIL;
      p = this.ws(ke + 1);
      if (b[p] !== COLON) return FAIL;
      p = this.ws(p + 1);
      const which = this.knownKey(ks, ke, TENSOR_KEYS);
      if (which < -1) return FAIL;
      if (which >= 0) {
        if (b[p] !== QUOTE) return FAIL;
        const s = p + 1;
        // Found by indexOf only: the decoder validates data, intern() validates name and type.
        const e = b.indexOf(QUOTE, s);
        if (e === -1) return FAIL;
        if (which === 0) {
          if (ns >= 0) return FAIL;
          ns = s;
          ne = e;
        } else if (which === 1) {
          if (ds >= 0) return FAIL;
          ds = s;
          de = e;
        } else {
          if (ts >= 0) return FAIL;
          ts = s;
          te = e;
        }
        p = e + 1;
      } else {
        p = this.skipValue(p, 2);
        if (p === FAIL) return FAIL;
      }
      p = this.ws(p);
      if (b[p] === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      if (b[p] !== RBRACE) return FAIL;
      p++;
      break;
    }
    if (ns < 0 || ds < 0 || ts < 0) return FAIL;
    const i = this.tensors.length;
    const typeText = this.intern(6 + 2 * Math.min(i, 8), ts, te);
    const name = this.intern(7 + 2 * Math.min(i, 8), ns, ne);
    if (typeText === undefined || name === undefined) return FAIL;
    const type = parseContentType(typeText);
    if ("error" in type) return FAIL;
    const slot = slotAt(this.slots, i);
    const values = slot.decode(b, ds, de, type);
    if ("error" in values) return FAIL;
    this.tensors.push({ kind, name, values });
    return p;
  }

  /** Skips any JSON value, validating it; returns the position after it or FAIL. */
  private skipValue(p: number, depth: number): number {
    if (depth > MAX_DEPTH) return FAIL;
    const b = this.b;
    const c = b[p];
    if (c === QUOTE) {
      const e = this.stringEnd(p + 1);
      return e === FAIL ? FAIL : e + 1;
    }
    if (c === LBRACE) {
      p = this.ws(p + 1);
      if (b[p] === RBRACE) return p + 1;
      for (;;) {
        if (b[p] !== QUOTE) return FAIL;
        const ke = this.stringEnd(p + 1);
        if (ke === FAIL) return FAIL;
        p = this.ws(ke + 1);
        if (b[p] !== COLON) return FAIL;
        p = this.skipValue(this.ws(p + 1), depth + 1);
        if (p === FAIL) return FAIL;
        p = this.ws(p);
        if (b[p] === COMMA) {
          p = this.ws(p + 1);
          continue;
        }
        return b[p] === RBRACE ? p + 1 : FAIL;
      }
    }
    if (c === LBRACK) {
      p = this.ws(p + 1);
      if (b[p] === RBRACK) return p + 1;
      for (;;) {
        p = this.skipValue(p, depth + 1);
        if (p === FAIL) return FAIL;
        p = this.ws(p);
        if (b[p] === COMMA) {
          p = this.ws(p + 1);
          continue;
        }
        return b[p] === RBRACK ? p + 1 : FAIL;
      }
    }
    if (c === 116) return this.literal(p, "true");
    if (c === 102) return this.literal(p, "false");
    if (c === 110) return this.literal(p, "null");
    return this.number(p);
  }

  private literal(p: number, word: string): number {
    for (let i = 0; i < word.length; i++) if (this.b[p + i] !== word.charCodeAt(i)) return FAIL;
    return p + word.length;
  }

  /** JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(p: number): number {
    const b = this.b;
    const digit = (i: number) => {
      const c = b[i];
      return c !== undefined && c >= 48 && c <= 57;
    };
    if (b[p] === 45) p++;
    if (b[p] === 48) p++;
    else if (digit(p)) while (digit(p)) p++;
    else return FAIL;
    if (b[p] === 46) {
      p++;
      if (!digit(p)) return FAIL;
      while (digit(p)) p++;
    }
    if (b[p] === 101 || b[p] === 69) {
      p++;
      if (b[p] === 43 || b[p] === 45) p++;
      if (!digit(p)) return FAIL;
      while (digit(p)) p++;
    }
    return p;
  }
}
