import { cdfOf, quantileOf, type WeightedSample } from "./kll.ts";

/**
 * L∞ distance between two empirical CDFs (the two-sample Kolmogorov–Smirnov statistic;
 * Model Monitor's "Simple" method). Exact for step CDFs: checked at every value of either sample.
 * @example linf(sampleOf([1, 2, 3, 4]), sampleOf([3, 4, 5, 6])) // 0.5
 */
export function linf(a: WeightedSample, b: WeightedSample): number {
  if (a.n === 0 || b.n === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let best = 0;
  const av = a.values;
  const bv = b.values;
  while (i < av.length || j < bv.length) {
    const x =
      j >= bv.length || (i < av.length && (av[i] as number) <= (bv[j] as number))
        ? (av[i] as number)
        : (bv[j] as number);
    while (i < av.length && (av[i] as number) <= x) i++;
    while (j < bv.length && (bv[j] as number) <= x) j++;
    const fa = i === 0 ? 0 : (a.cum[i - 1] as number) / a.n;
    const fb = j === 0 ? 0 : (b.cum[j - 1] as number) / b.n;
    const d = Math.abs(fa - fb);
    if (d > best) best = d;
  }
  return best;
}

/**
 * Deequ's "Robust" variant: L∞ minus the KS critical value at α ≈ 0.003 (c(α) = 1.8), floored at 0,
 * so small samples do not alarm on noise. n and m are the two sample sizes.
 * @example robustLinf(0.5, 100, 100) // max(0, 0.5 − 1.8·sqrt(200/10000)) ≈ 0.2454
 */
export function robustLinf(distance: number, n: number, m: number): number {
  if (!(n > 0 && m > 0)) return Number.NaN;
  return Math.max(0, distance - 1.8 * Math.sqrt((n + m) / (n * m)));
}

/** Bin edges at the baseline's deciles (duplicates removed), for PSI and Jensen–Shannon. */
export function quantileEdges(baseline: WeightedSample, bins = 10): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const q = quantileOf(baseline, i / bins);
    if (edges.length === 0 || q > (edges[edges.length - 1] as number)) edges.push(q);
  }
  return edges;
}

/** Probability mass per bin (−∞, e0], (e0, e1], …, (e_last, ∞). */
export function binMasses(s: WeightedSample, edges: readonly number[]): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const f = cdfOf(s, e);
    out.push(f - prev);
    prev = f;
  }
  out.push(1 - prev);
  return out;
}

/** Floor for empty bins: PSI's log ratio is undefined at 0; 1e-4 is the customary choice. */
const PSI_FLOOR = 1e-4;

/**
 * Population Stability Index Σ (q − p)·ln(q / p) over shared bins (p baseline, q current).
 * @example psi([0.5, 0.5], [0.25, 0.75]) // 0.25·ln(0.5) … = 0.2747
 */
export function psi(p: readonly number[], q: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const a = Math.max(p[i] as number, PSI_FLOOR);
    const b = Math.max(q[i] as number, PSI_FLOOR);
    sum += (b - a) * Math.log(b / a);
  }
  return sum;
}

/**
 * Jensen–Shannon distance (square root of the divergence, log base 2): 0 for equal, 1 for disjoint.
 * @example jensenShannon([1, 0], [0, 1]) // 1
 */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  let div = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    const m = (a + b) / 2;
    if (a > 0) div += 0.5 * a * Math.log2(a / m);
    if (b > 0) div += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.max(0, div));
}

/** PSI and Jensen–Shannon of `current` against `baseline` on the baseline's decile bins. */
export function binnedDistances(
  baseline: WeightedSample,
  current: WeightedSample,
): { psi: number; jensenShannon: number } {
  if (baseline.n === 0 || current.n === 0) return { psi: Number.NaN, jensenShannon: Number.NaN };
  const edges = quantileEdges(baseline);
  const p = binMasses(baseline, edges);
  const q = binMasses(current, edges);
  return { psi: psi(p, q), jensenShannon: jensenShannon(p, q) };
}

/**
 * L∞ distance between category frequency vectors (Model Monitor's categorical "LInfinity").
 * @example categoricalLinf(new Map([["a", 3], ["b", 1]]), new Map([["a", 1], ["b", 1]])) // 0.25
 */
export function categoricalLinf(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  const na = total(a);
  const nb = total(b);
  if (na === 0 || nb === 0) return Number.NaN;
  let best = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const d = Math.abs((a.get(k) ?? 0) / na - (b.get(k) ?? 0) / nb);
    if (d > best) best = d;
  }
  return best;
}

export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  /** Probability of a statistic this large if current follows the baseline's frequencies. */
  pValue: number;
}

/**
 * Pearson goodness-of-fit of current counts against the baseline's category frequencies. A category
 * the baseline never saw makes the fit impossible (p = 0).
 * @example chiSquare(new Map([["a", 50], ["b", 50]]), new Map([["a", 60], ["b", 40]])) // statistic 4, df 1, p ≈ 0.0455
 */
export function chiSquare(
  baseline: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): ChiSquareResult {
  const nb = total(baseline);
  const nc = total(current);
  if (nb === 0 || nc === 0) return { statistic: Number.NaN, degreesOfFreedom: 0, pValue: Number.NaN };
  let stat = 0;
  let k = 0;
  for (const [cat, count] of baseline) {
    if (count <= 0) continue;
    k++;
    const expected = (count / nb) * nc;
    const d = (current.get(cat) ?? 0) - expected;
    stat += (d * d) / expected;
  }
  for (const [cat, count] of current) {
    if (count > 0 && !((baseline.get(cat) ?? 0) > 0))
      return { statistic: Number.POSITIVE_INFINITY, degreesOfFreedom: k, pValue: 0 };
  }
  const df = Math.max(1, k - 1);
  return { statistic: stat, degreesOfFreedom: df, pValue: k <= 1 ? 1 : gammaQ(df / 2, stat / 2) };
}

function total(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** Regularized upper incomplete gamma Q(a, x): series below a+1, continued fraction above (Lentz). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const lnPrefix = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lnPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(lnPrefix) * h);
}

/** Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for a > 0. */
function lnGamma(z: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const zz = z - 1;
  let x = g[0] as number;
  for (let i = 1; i < 9; i++) x += (g[i] as number) / (zz + i);
  const t = zz + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(x);
}
