import { ProfileFormatError } from "./errors.ts";
import { KLL_DEFAULTS, type KllJson, KllSketch } from "./kll.ts";

/** Serialized numeric feature: moments kept as (count, mean, M2) so they merge exactly (Chan et al.). */
export interface NumericJson {
  type: "numeric";
  /** Finite values seen. */
  present: number;
  /** NaN / ±Infinity values seen: counted, never folded into the moments or the sketch. */
  nonFinite: number;
  /** Finite values that are whole numbers (for Model Monitor's Integral vs Fractional). */
  integral: number;
  mean: number;
  m2: number;
  sum: number;
  min: number | null;
  max: number | null;
  sketch: KllJson;
}

export interface CategoricalJson {
  type: "categorical";
  present: number;
  /** Values that could not be categorised (e.g. argmax of a vector holding NaN). */
  nonFinite: number;
  counts: Record<string, number>;
}

/** Streaming count / mean / variance / min / max plus a KLL sketch of one numeric feature. */
export class NumericStats {
  present = 0;
  nonFinite = 0;
  integral = 0;
  mean = 0;
  m2 = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly sketch: KllSketch;

  constructor(k: number = KLL_DEFAULTS.k, c: number = KLL_DEFAULTS.c) {
    this.sketch = new KllSketch(k, c);
  }

  add(x: number): void {
    // x - x is 0 only for finite x: one test covers NaN and both infinities.
    if (x - x !== 0) {
      this.nonFinite++;
      return;
    }
    const n = ++this.present;
    const d = x - this.mean;
    this.mean += d / n;
    this.m2 += d * (x - this.mean);
    this.sum += x;
    // `+ 0` turns -0 into 0: JSON cannot carry -0, and a profile must read back as it was written.
    if (x < this.min) this.min = x + 0;
    if (x > this.max) this.max = x + 0;
    if (Math.floor(x) === x) this.integral++;
    this.sketch.update(x);
  }

  /** Population standard deviation, as Deequ reports it. */
  get stdDev(): number {
    return this.present === 0 ? Number.NaN : Math.sqrt(this.m2 / this.present);
  }

  merge(o: NumericStats): this {
    const n = this.present + o.present;
    if (o.present > 0) {
      const d = o.mean - this.mean;
      this.m2 += o.m2 + (d * d * this.present * o.present) / n;
      this.mean += (d * o.present) / n;
    }
    this.present = n;
    this.nonFinite += o.nonFinite;
    this.integral += o.integral;
    this.sum += o.sum;
    // Same comparisons as add(), so ±0 ties resolve the same way merged or not.
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
    this.sketch.merge(o.sketch);
    return this;
  }

  toJSON(): NumericJson {
    const empty = this.present === 0;
    return {
      type: "numeric",
      present: this.present,
      nonFinite: this.nonFinite,
      integral: this.integral,
      mean: this.mean,
      m2: this.m2,
      sum: this.sum,
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      sketch: this.sketch.toJSON(),
    };
  }

  static fromJSON(j: NumericJson): NumericStats {
    const s = Object.assign(new NumericStats(j.sketch.parameters.k, j.sketch.parameters.c), {
      present: num(j.present),
      nonFinite: num(j.nonFinite),
      integral: num(j.integral),
      mean: num(j.mean),
      m2: num(j.m2),
      sum: num(j.sum),
      min: j.min ?? Number.POSITIVE_INFINITY,
      max: j.max ?? Number.NEGATIVE_INFINITY,
    });
    s.sketch.merge(KllSketch.fromJSON(j.sketch));
    return s;
  }
}

/** Category counts of one categorical feature. Small-integer categories (argmax) take an array fast path. */
export class CategoricalStats {
  present = 0;
  nonFinite = 0;
  private readonly byIndex: number[] = [];
  private readonly byValue = new Map<string, number>();

  addIndex(i: number): void {
    this.present++;
    this.byIndex[i] = (this.byIndex[i] ?? 0) + 1;
  }

  addValue(v: string): void {
    this.present++;
    this.byValue.set(v, (this.byValue.get(v) ?? 0) + 1);
  }

  addNonFinite(): void {
    this.nonFinite++;
  }

  counts(): Map<string, number> {
    const out = new Map(this.byValue);
    this.byIndex.forEach((c, i) => {
      if (c !== undefined) out.set(String(i), (out.get(String(i)) ?? 0) + c);
    });
    return out;
  }

  merge(o: CategoricalStats): this {
    this.present += o.present;
    this.nonFinite += o.nonFinite;
    for (const [v, c] of o.counts()) this.byValue.set(v, (this.byValue.get(v) ?? 0) + c);
    return this;
  }

  toJSON(): CategoricalJson {
    const counts = [...this.counts()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return {
      type: "categorical",
      present: this.present,
      nonFinite: this.nonFinite,
      counts: Object.fromEntries(counts),
    };
  }

  static fromJSON(j: CategoricalJson): CategoricalStats {
    const s = new CategoricalStats();
    if (typeof j.counts !== "object" || j.counts === null)
      throw new ProfileFormatError("categorical feature has no counts");
    for (const [v, c] of Object.entries(j.counts)) s.byValue.set(v, num(c));
    s.present = num(j.present);
    s.nonFinite = num(j.nonFinite);
    return s;
  }
}

function num(v: unknown): number {
  if (typeof v !== "number" || Number.isNaN(v))
    throw new ProfileFormatError(`expected a number, got ${JSON.stringify(v)}`);
  return v;
}
