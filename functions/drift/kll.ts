import { ProfileFormatError } from "./errors.ts";

/** Model Monitor's `distribution.kll.sketch`: level j's items each stand for 2^j values. */
export interface KllJson {
  parameters: { c: number; k: number };
  data: number[][];
}

/** Model Monitor's defaults for its baselining job. */
export const KLL_DEFAULTS = { k: 2048, c: 0.64 } as const;

/** Sorted values with cumulative weights: what CDF, quantile and distance queries read. */
export interface WeightedSample {
  values: Float64Array;
  /** cum[i] = total weight of values[0..i]. */
  cum: Float64Array;
  n: number;
}

/**
 * KLL quantile sketch (Karnin, Lang, Liberty 2016) in the layout Deequ and Model Monitor write:
 * compactor levels, the top level holding up to k items and each level below c times fewer.
 * Rank error is about 1.7/k of n with high probability. Compaction uses a seeded coin so the same
 * input in the same order gives the same sketch.
 * @example const s = new KllSketch(); for (const x of xs) s.update(x); s.quantile(0.5);
 */
export class KllSketch {
  readonly k: number;
  readonly c: number;
  /** Total weight (number of values summarized). */
  n = 0;
  private levels: Float64Array[] = [];
  private sizes: number[] = [];
  private stored = 0;
  private capacityTotal = 0;
  private seed = 0x9e3779b9;

  constructor(k: number = KLL_DEFAULTS.k, c: number = KLL_DEFAULTS.c) {
    if (!(k >= 2) || !(c > 0 && c <= 1)) throw new ProfileFormatError(`invalid KLL parameters k=${k} c=${c}`);
    this.k = Math.floor(k);
    this.c = c;
    this.addLevel();
  }

  // Capacities change only when a level is added; cached because compress() reads them on every call.
  private caps: number[] = [];
  private spare: (Float64Array | undefined)[] = [];
  /** True while every value in level 0 is exactly a float32 (capture tensors mostly are): radix sort applies. */
  private level0Float32 = true;

  private capacity(h: number): number {
    return this.caps[h] as number;
  }

  private addLevel(): void {
    this.levels.push(new Float64Array(8));
    this.sizes.push(0);
    const top = this.levels.length - 1;
    this.caps = this.levels.map((_, h) => Math.max(2, Math.ceil(this.k * this.c ** (top - h))));
    // A roomier level 0 only means fewer compactions (less error, never more) and lets one sort
    // cover many values; with the radix sort below that halves the sketch's cost per update.
    this.caps[0] = Math.max(this.caps[0] as number, Math.min(this.k, LEVEL0_MIN));
    this.capacityTotal = this.caps.reduce((a, b) => a + b, 0);
  }

  private push(h: number, x: number): void {
    let level = this.levels[h] as Float64Array;
    const size = this.sizes[h] as number;
    if (size === level.length) {
      const grown = new Float64Array(level.length * 2);
      grown.set(level);
      this.levels[h] = level = grown;
    }
    level[size] = x;
    this.sizes[h] = size + 1;
  }

  /** Adds one finite value. */
  update(x: number): void {
    if (Math.fround(x) !== x) this.level0Float32 = false;
    const level = this.levels[0] as Float64Array;
    const size = this.sizes[0] as number;
    if (size < level.length) {
      level[size] = x;
      this.sizes[0] = size + 1;
    } else this.push(0, x);
    this.n++;
    if (++this.stored >= this.capacityTotal) this.compress();
  }

  private coin(): number {
    let s = this.seed;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.seed = s >>> 0;
    return this.seed & 1;
  }

  private compress(): void {
    while (this.stored >= this.capacityTotal) {
      let h = 0;
      while (h < this.levels.length && (this.sizes[h] as number) < this.capacity(h)) h++;
      if (h === this.levels.length) return;
      this.compact(h);
    }
  }

  /**
   * Promotes every other item of level h (random parity) to level h+1 with double weight.
   * Levels above 0 are kept sorted, so only level 0 is ever sorted; promotion is a linear merge
   * (sorting every level on every compaction cost ~140 ns per update, this ~25).
   */
  private compact(h: number): void {
    if (h + 1 === this.levels.length) this.addLevel();
    const size = this.sizes[h] as number;
    const items = this.levels[h] as Float64Array;
    if (h === 0) {
      if (this.level0Float32 && size >= 64) radixSortFloat32(items, size);
      else sortRange(items, 0, size);
      this.level0Float32 = true;
    }
    const pairs = size & ~1;
    this.mergeSortedInto(h + 1, items, this.coin(), pairs, 2);
    // An odd item out stays behind so total weight is conserved exactly.
    if (size !== pairs) items[0] = items[size - 1] as number;
    this.sizes[h] = size - pairs;
    this.stored -= pairs / 2;
  }

  /** Merges src[from], src[from+step], … (< end, ascending) into sorted level h. */
  private mergeSortedInto(h: number, src: Float64Array, from: number, end: number, step: number): void {
    const count = end > from ? Math.ceil((end - from) / step) : 0;
    if (count === 0) return;
    const old = this.levels[h] as Float64Array;
    const oldSize = this.sizes[h] as number;
    const total = oldSize + count;
    // Two buffers per level swap roles, so steady-state compaction allocates nothing.
    let out = this.spare[h];
    if (out === undefined || out.length < total) out = new Float64Array(Math.max(8, total + (total >> 1)));
    let i = 0;
    let j = from;
    let o = 0;
    while (i < oldSize && j < end) {
      const a = old[i] as number;
      const b = src[j] as number;
      if (a <= b) {
        out[o++] = a;
        i++;
      } else {
        out[o++] = b;
        j += step;
      }
    }
    while (i < oldSize) out[o++] = old[i++] as number;
    for (; j < end; j += step) out[o++] = src[j] as number;
    this.levels[h] = out;
    this.spare[h] = old;
    this.sizes[h] = total;
  }

  /** Folds `other` into this sketch (other is left unchanged). */
  merge(other: KllSketch): this {
    while (this.levels.length < other.levels.length) this.addLevel();
    for (let h = 0; h < other.levels.length; h++) {
      const src = other.levels[h] as Float64Array;
      const size = other.sizes[h] as number;
      if (h === 0) {
        for (let i = 0; i < size; i++) this.push(0, src[i] as number);
        if (!other.level0Float32) this.level0Float32 = false;
      } else this.mergeSortedInto(h, src, 0, size, 1);
      this.stored += size;
    }
    this.n += other.n;
    this.compress();
    return this;
  }

  /** All retained items sorted, with cumulative weights. */
  weighted(): WeightedSample {
    const m = this.stored;
    const vals = new Float64Array(m);
    const ws = new Float64Array(m);
    let j = 0;
    for (let h = 0; h < this.levels.length; h++) {
      const level = this.levels[h] as Float64Array;
      const w = 2 ** h;
      for (let i = 0; i < (this.sizes[h] as number); i++) {
        vals[j] = level[i] as number;
        ws[j++] = w;
      }
    }
    const order = new Uint32Array(m)
      .map((_, i) => i)
      .sort((a, b) => (vals[a] as number) - (vals[b] as number));
    const values = new Float64Array(m);
    const cum = new Float64Array(m);
    let acc = 0;
    for (let i = 0; i < m; i++) {
      const o = order[i] as number;
      values[i] = vals[o] as number;
      acc += ws[o] as number;
      cum[i] = acc;
    }
    return { values, cum, n: acc };
  }

  quantile(q: number): number {
    return quantileOf(this.weighted(), q);
  }

  cdf(x: number): number {
    return cdfOf(this.weighted(), x);
  }

  toJSON(): KllJson {
    return {
      parameters: { c: this.c, k: this.k },
      data: this.levels.map((l, h) => Array.from(l.subarray(0, this.sizes[h] as number))),
    };
  }

  /** Reads Model Monitor's sketch layout; items that are not finite numbers are rejected. */
  static fromJSON(json: unknown): KllSketch {
    const j = json as Partial<KllJson> | undefined;
    const k = Number(j?.parameters?.k ?? KLL_DEFAULTS.k);
    const c = Number(j?.parameters?.c ?? KLL_DEFAULTS.c);
    if (!Array.isArray(j?.data)) throw new ProfileFormatError("KLL sketch has no data levels");
    const s = new KllSketch(k, c);
    j.data.forEach((level, h) => {
      if (!Array.isArray(level)) throw new ProfileFormatError(`KLL sketch level ${h} is not an array`);
      while (s.levels.length <= h) s.addLevel();
      for (const x of level) {
        if (typeof x !== "number" || !Number.isFinite(x))
          throw new ProfileFormatError(`KLL sketch level ${h} holds ${String(x)}`);
        s.push(h, x);
        s.stored++;
        s.n += 2 ** h;
      }
      if (h > 0) (s.levels[h] as Float64Array).subarray(0, s.sizes[h] as number).sort();
    });
    return s;
  }
}

const LEVEL0_MIN = 1024;
let radixKeys = new Uint32Array(0);
let radixTmp = new Uint32Array(0);
let radixF32 = new Float32Array(0);
const radixCounts = new Uint32Array(256 * 4);

/**
 * Sorts a[0, n) when every value is exactly a float32: maps each to an order-preserving uint32 key
 * and runs a 4-pass LSD radix sort (about 3× faster than a comparison sort at this size).
 */
function radixSortFloat32(a: Float64Array, n: number): void {
  if (radixKeys.length < n) {
    radixKeys = new Uint32Array(n * 2);
    radixTmp = new Uint32Array(n * 2);
    radixF32 = new Float32Array(radixKeys.buffer);
  }
  const f32 = radixF32;
  let keys = radixKeys;
  let tmp = radixTmp;
  const counts = radixCounts;
  counts.fill(0);
  for (let i = 0; i < n; i++) f32[i] = a[i] as number;
  for (let i = 0; i < n; i++) {
    const k = keys[i] as number;
    // Negative floats: flip all bits; positive: flip the sign bit. Unsigned order = numeric order.
    const key = k & 0x80000000 ? ~k >>> 0 : (k | 0x80000000) >>> 0;
    keys[i] = key;
    counts[key & 255] = (counts[key & 255] as number) + 1;
    counts[256 + ((key >>> 8) & 255)] = (counts[256 + ((key >>> 8) & 255)] as number) + 1;
    counts[512 + ((key >>> 16) & 255)] = (counts[512 + ((key >>> 16) & 255)] as number) + 1;
    counts[768 + (key >>> 24)] = (counts[768 + (key >>> 24)] as number) + 1;
  }
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * 256;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[base + d] as number;
      counts[base + d] = sum;
      sum += c;
    }
    const shift = pass * 8;
    for (let i = 0; i < n; i++) {
      const key = keys[i] as number;
      const slot = base + ((key >>> shift) & 255);
      const pos = counts[slot] as number;
      counts[slot] = pos + 1;
      tmp[pos] = key;
    }
    const t = keys;
    keys = tmp;
    tmp = t;
  }
  // After an even number of passes the sorted keys are back in radixKeys (aliased by f32).
  for (let i = 0; i < n; i++) {
    const key = keys[i] as number;
    keys[i] = key & 0x80000000 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
  }
  for (let i = 0; i < n; i++) a[i] = f32[i] as number;
}

/**
 * In-place ascending sort of a[lo, hi): quicksort with median-of-three, insertion sort below 24.
 * Level 0 holds about a hundred items when compacted; on such short ranges this beats
 * TypedArray.prototype.sort, which also needs a subarray object per call.
 */
function sortRange(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 24) {
    const x = a[lo] as number;
    const y = a[(lo + hi) >> 1] as number;
    const z = a[hi - 1] as number;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi - 1;
    for (;;) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i >= j) break;
      const t = a[i] as number;
      a[i] = a[j] as number;
      a[j] = t;
      i++;
      j--;
    }
    // Recurse into the smaller side, loop on the larger: stack depth stays O(log n).
    if (j + 1 - lo < hi - j - 1) {
      sortRange(a, lo, j + 1);
      lo = j + 1;
    } else {
      sortRange(a, j + 1, hi);
      hi = j + 1;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= lo && (a[j] as number) > v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
}

/** Fraction of weight at or below x (right-continuous empirical CDF). */
export function cdfOf(s: WeightedSample, x: number): number {
  if (s.n === 0) return Number.NaN;
  let lo = 0;
  let hi = s.values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((s.values[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : (s.cum[lo - 1] as number) / s.n;
}

/** Smallest retained value whose cumulative weight reaches q·n. */
export function quantileOf(s: WeightedSample, q: number): number {
  if (s.n === 0) return Number.NaN;
  const target = Math.min(1, Math.max(0, q)) * s.n;
  let lo = 0;
  let hi = s.values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((s.cum[mid] as number) >= target) hi = mid;
    else lo = mid + 1;
  }
  return s.values[lo] as number;
}

/** An exact weighted sample from plain values (tests, small categorical-as-numeric cases). */
export function sampleOf(values: ArrayLike<number>, weights?: ArrayLike<number>): WeightedSample {
  const order = Array.from({ length: values.length }, (_, i) => i).sort(
    (a, b) => (values[a] as number) - (values[b] as number),
  );
  const v = new Float64Array(order.length);
  const cum = new Float64Array(order.length);
  let acc = 0;
  order.forEach((o, i) => {
    v[i] = values[o] as number;
    acc += weights === undefined ? 1 : (weights[o] as number);
    cum[i] = acc;
  });
  return { values: v, cum, n: acc };
}
