import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KllSketch } from "../../functions/drift/kll.ts";
import { NumericStats } from "../../functions/drift/stats.ts";
import { rng } from "./generate.ts";

const sketchOf = (xs: readonly number[], k = 64) => {
  const s = new KllSketch(k);
  for (const x of xs) s.update(x);
  return s;
};
const trueCdf = (sorted: readonly number[], x: number) => {
  let n = 0;
  for (const v of sorted) if (v <= x) n++;
  return n / sorted.length;
};
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });

describe("KLL sketch", () => {
  it("is exact while nothing has been compacted", () => {
    const s = sketchOf([5, 1, 4, 2, 3], 2048);
    expect(s.quantile(0.5)).toBe(3);
    expect(s.cdf(2)).toBe(0.4);
    expect(s.toJSON()).toEqual({ parameters: { c: 0.64, k: 2048 }, data: [[5, 1, 4, 2, 3]] });
  });

  it("keeps rank error well under 1% at Model Monitor's k = 2048", () => {
    const rand = rng(7);
    const xs = Array.from({ length: 200_000 }, () => rand() * 100);
    const s = sketchOf(xs, 2048);
    const sorted = [...xs].sort((a, b) => a - b);
    for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
      const x = sorted[Math.floor(q * sorted.length)] as number;
      expect(Math.abs(s.cdf(x) - trueCdf(sorted, x))).toBeLessThan(0.005);
    }
    expect(s.n).toBe(200_000);
  });

  it("round-trips Model Monitor's layout: level j items weigh 2^j", () => {
    const s = KllSketch.fromJSON({ parameters: { c: 0.64, k: 2048 }, data: [[1, 2], [10], [], [100]] });
    expect(s.n).toBe(2 + 2 + 8);
    expect(s.cdf(2)).toBeCloseTo(2 / 12, 12);
    expect(s.cdf(10)).toBeCloseTo(4 / 12, 12);
    expect(KllSketch.fromJSON(s.toJSON()).weighted()).toEqual(s.weighted());
    expect(() => KllSketch.fromJSON({ parameters: { c: 0.64, k: 8 }, data: [["x"]] })).toThrow(/level 0/);
  });

  it("merge is associative within the sketch's error and conserves weight exactly", () => {
    fc.assert(
      fc.property(
        fc.array(finite, { maxLength: 600 }),
        fc.array(finite, { maxLength: 600 }),
        fc.array(finite, { maxLength: 600 }),
        (a, b, c) => {
          const left = sketchOf(a).merge(sketchOf(b)).merge(sketchOf(c));
          const right = sketchOf(a).merge(sketchOf(b).merge(sketchOf(c)));
          const all = [...a, ...b, ...c];
          expect(left.n).toBe(all.length);
          expect(right.n).toBe(all.length);
          if (all.length === 0) return;
          const sorted = [...all].sort((x, y) => x - y);
          for (const q of [0.1, 0.3, 0.5, 0.7, 0.9]) {
            const x = sorted[Math.floor(q * (sorted.length - 1))] as number;
            const t = trueCdf(sorted, x);
            // k = 64: a few percent of rank error per sketch.
            expect(Math.abs(left.cdf(x) - right.cdf(x))).toBeLessThan(0.12);
            expect(Math.abs(left.cdf(x) - t)).toBeLessThan(0.08);
            expect(Math.abs(right.cdf(x) - t)).toBeLessThan(0.08);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("numeric moments (Chan merge)", () => {
  it("merge(profile(A), profile(B)) equals profile(A ∪ B)", () => {
    fc.assert(
      fc.property(fc.array(finite, { maxLength: 200 }), fc.array(finite, { maxLength: 200 }), (a, b) => {
        const sa = new NumericStats(64);
        const sb = new NumericStats(64);
        const all = new NumericStats(64);
        for (const x of a) sa.add(x);
        for (const x of b) sb.add(x);
        for (const x of [...a, ...b]) all.add(x);
        const m = NumericStats.fromJSON(JSON.parse(JSON.stringify(sa.toJSON()))).merge(sb);
        expect(m.present).toBe(all.present);
        expect(m.min).toBe(all.min);
        expect(m.max).toBe(all.max);
        const tol = (v: number) => 1e-9 * Math.max(1, Math.abs(v));
        expect(Math.abs(m.mean - all.mean)).toBeLessThanOrEqual(tol(all.mean) * 1e3);
        expect(Math.abs(m.m2 - all.m2)).toBeLessThanOrEqual(tol(all.m2) * 1e3);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps a minimum of -0 as 0, so a profile reads back from JSON unchanged", () => {
    const s = new NumericStats(64);
    s.add(-0);
    const back = NumericStats.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(Object.is(s.min, 0)).toBe(true);
    expect(Object.is(back.min, s.min)).toBe(true);
    expect(Object.is(back.max, s.max)).toBe(true);
  });

  it("counts NaN and ±Infinity without averaging them", () => {
    const s = new NumericStats();
    for (const x of [1, Number.NaN, 3, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) s.add(x);
    expect(s.present).toBe(2);
    expect(s.nonFinite).toBe(3);
    expect(s.mean).toBe(2);
    expect(s.stdDev).toBe(1);
  });
});
