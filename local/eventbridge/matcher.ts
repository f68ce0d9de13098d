/**
 * EventBridge event pattern matching, as the service documents it:
 * a pattern is an object whose leaves are arrays of alternatives; every key in the pattern must
 * match (AND), any alternative of a leaf may match (OR); when the event's value is an array, any
 * element may match. Alternatives are literals (exact, type-sensitive: 5 ≠ "5"), `null`, or one of
 * the content filters `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but`,
 * `exists`, `numeric`, `cidr`; `$or` takes a list of sub-patterns.
 */

/** A pattern EventBridge would reject (PutRule's InvalidEventPatternException). */
export class InvalidEventPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEventPatternError";
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const MISSING = Symbol("missing");
type Value = Json | typeof MISSING;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * True when the event (the full envelope: source, detail-type, detail, …) matches the pattern.
 * @example matchesPattern({ source: ["aws.sagemaker"], detail: { ModelApprovalStatus: ["Approved"] } }, event)
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new InvalidEventPatternError("an event pattern must be a JSON object");
  return matchObject(pattern, isObject(event) ? (event as Record<string, Json>) : {});
}

function matchObject(pattern: Record<string, unknown>, event: Record<string, Json>): boolean {
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === "$or") {
      if (!Array.isArray(sub) || sub.length < 2)
        throw new InvalidEventPatternError("$or needs a list of at least two patterns");
      if (!sub.some((alt) => isObject(alt) && matchObject(alt, event))) return false;
      continue;
    }
    const value: Value = key in event ? (event[key] as Json) : MISSING;
    if (isObject(sub)) {
      if (!isObject(value)) return false;
      if (!matchObject(sub, value as Record<string, Json>)) return false;
      continue;
    }
    if (!Array.isArray(sub))
      throw new InvalidEventPatternError(`pattern value at "${key}" must be an array or an object`);
    if (!matchLeaf(sub, value)) return false;
  }
  return true;
}

function matchLeaf(alternatives: unknown[], value: Value): boolean {
  // exists:false is the only way a missing field matches; evaluate it against the field, not its elements.
  return alternatives.some((alt) => {
    if (isObject(alt) && "exists" in alt) {
      if (typeof alt.exists !== "boolean") throw new InvalidEventPatternError("exists takes true or false");
      const present = value !== MISSING && !(Array.isArray(value) && value.length === 0);
      return alt.exists === present;
    }
    if (value === MISSING) return false;
    if (Array.isArray(value)) return value.some((v) => matchOne(alt, v));
    return matchOne(alt, value);
  });
}

function matchOne(alt: unknown, value: Json): boolean {
  if (alt === null || typeof alt !== "object") return alt === value;
  if (Array.isArray(alt)) throw new InvalidEventPatternError("nested arrays are not allowed in a pattern");
  const entries = Object.entries(alt);
  if (entries.length !== 1)
    throw new InvalidEventPatternError(`a content filter has exactly one key, got ${JSON.stringify(alt)}`);
  const [op, arg] = entries[0] as [string, unknown];
  switch (op) {
    case "prefix":
      return stringFilter(arg, value, (v, s) => v.startsWith(s), "prefix");
    case "suffix":
      return stringFilter(arg, value, (v, s) => v.endsWith(s), "suffix");
    case "equals-ignore-case":
      if (typeof arg !== "string") throw new InvalidEventPatternError("equals-ignore-case takes a string");
      return typeof value === "string" && value.toLowerCase() === arg.toLowerCase();
    case "wildcard":
      if (typeof arg !== "string") throw new InvalidEventPatternError("wildcard takes a string");
      return typeof value === "string" && wildcard(arg).test(value);
    case "anything-but":
      return anythingBut(arg, value);
    case "numeric":
      return numeric(arg, value);
    case "cidr":
      if (typeof arg !== "string") throw new InvalidEventPatternError("cidr takes a string");
      return typeof value === "string" && inCidr(arg, value);
    default:
      throw new InvalidEventPatternError(`unknown content filter ${op}`);
  }
}

function stringFilter(
  arg: unknown,
  value: Json,
  test: (v: string, s: string) => boolean,
  name: string,
): boolean {
  if (typeof value !== "string") return false;
  if (typeof arg === "string") return test(value, arg);
  if (isObject(arg) && typeof arg["equals-ignore-case"] === "string")
    return test(value.toLowerCase(), (arg["equals-ignore-case"] as string).toLowerCase());
  throw new InvalidEventPatternError(`${name} takes a string or {"equals-ignore-case": string}`);
}

function wildcard(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "s");
}

function anythingBut(arg: unknown, value: Json): boolean {
  if (Array.isArray(arg)) return !arg.some((a) => a === value);
  if (isObject(arg)) {
    const [op, inner] = (Object.entries(arg)[0] ?? []) as [string, unknown];
    if (op === "prefix" || op === "suffix" || op === "equals-ignore-case" || op === "wildcard") {
      // anything-but of a string filter matches only strings that fail it.
      if (typeof value !== "string") return false;
      const list = Array.isArray(inner) ? inner : [inner];
      return !list.some((s) => matchOne({ [op]: s }, value));
    }
    throw new InvalidEventPatternError(`anything-but does not take ${op}`);
  }
  if (arg === null || typeof arg === "object")
    throw new InvalidEventPatternError("anything-but takes a value, a list or a string filter");
  return value !== arg;
}

const NUMERIC_OPS: Record<string, (a: number, b: number) => boolean> = {
  "=": (a, b) => a === b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

function numeric(arg: unknown, value: Json): boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw new InvalidEventPatternError(
      'numeric takes one or two [operator, number] pairs, e.g. [">", 0, "<=", 5]',
    );
  }
  const checks: Array<[(a: number, b: number) => boolean, number]> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const fn = NUMERIC_OPS[arg[i] as string];
    const n = arg[i + 1];
    if (!fn || typeof n !== "number")
      throw new InvalidEventPatternError(
        `numeric: bad operator or operand ${JSON.stringify(arg.slice(i, i + 2))}`,
      );
    checks.push([fn, n]);
  }
  return typeof value === "number" && checks.every(([fn, n]) => fn(value, n));
}

function inCidr(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const toInt = (s: string) => {
    const parts = s.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    return parts.reduce((acc, p) => (acc << 8) + p, 0) >>> 0;
  };
  const b = toInt(base ?? "");
  const v = toInt(ip);
  if (b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32)
    throw new InvalidEventPatternError(`cidr ${cidr} is not an IPv4 CIDR block`);
  if (v === undefined) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (b & mask) === (v & mask);
}
