import { describe, expect, it } from "vitest";
import {
  binMasses,
  binnedDistances,
  categoricalLinf,
  chiSquare,
  gammaQ,
  jensenShannon,
  linf,
  psi,
  quantileEdges,
  robustLinf,
} from "../../functions/drift/distances.ts";
import { sampleOf } from "../../functions/drift/kll.ts";

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("distances, against values worked out by hand", () => {
  it("L∞ between empirical CDFs is the largest vertical gap", () => {
    // F_a(2) = 0.5 while F_b(2) = 0; F_a(4) = 1 while F_b(4) = 0.5.
    expect(linf(sampleOf([1, 2, 3, 4]), sampleOf([3, 4, 5, 6]))).toBe(0.5);
    expect(linf(sampleOf([1, 2, 3]), sampleOf([1, 2, 3]))).toBe(0);
    expect(linf(sampleOf([1, 2]), sampleOf([10, 20]))).toBe(1);
    // Ties: F_a(1) = 2/3, F_b(1) = 1/3.
    expect(linf(sampleOf([1, 1, 2]), sampleOf([1, 2, 2]))).toBeCloseTo(1 / 3, 12);
    // Weights count like repeated values.
    expect(linf(sampleOf([1, 2], [3, 1]), sampleOf([1, 1, 1, 2]))).toBe(0);
  });

  it("Robust subtracts 1.8·sqrt((n+m)/(n·m)) and floors at zero", () => {
    expect(robustLinf(0.5, 100, 100)).toBeCloseTo(0.5 - 1.8 * Math.sqrt(0.02), 12);
    expect(robustLinf(0.5, 100, 100)).toBeCloseTo(0.245442, 6);
    expect(robustLinf(0.1, 10, 10)).toBe(0);
  });

  it("PSI sums (q − p)·ln(q/p)", () => {
    // (0.25 − 0.5)·ln 0.5 + (0.75 − 0.5)·ln 1.5 = 0.173287 + 0.101366
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 6);
    expect(psi([0.2, 0.8], [0.2, 0.8])).toBe(0);
  });

  it("PSI on baseline deciles: a shift of half the range", () => {
    const base = sampleOf(range(1, 10));
    const cur = sampleOf(range(6, 15));
    expect(quantileEdges(base)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const q = binMasses(cur, quantileEdges(base));
    expect(q.map((x) => Number(x.toFixed(10)))).toEqual([0, 0, 0, 0, 0, 0.1, 0.1, 0.1, 0.1, 0.6]);
    // Five empty bins floored at 1e-4: 5·(1e-4 − 0.1)·ln(1e-4/0.1) + (0.6 − 0.1)·ln 6
    expect(binnedDistances(base, cur).psi).toBeCloseTo(4.346304, 5);
    expect(binnedDistances(base, base)).toEqual({ psi: 0, jensenShannon: 0 });
  });

  it("Jensen–Shannon distance (base 2) is 0 for equal and 1 for disjoint", () => {
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(jensenShannon([0.3, 0.7], [0.3, 0.7])).toBe(0);
    // m = (0.375, 0.625); KL(p‖m) = 0.046554, KL(q‖m) = 0.051035; sqrt of their mean.
    expect(jensenShannon([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.220896, 5);
  });

  it("categorical L∞ compares frequencies, not counts", () => {
    const a = new Map([
      ["a", 3],
      ["b", 1],
    ]);
    const b = new Map([
      ["a", 1],
      ["b", 1],
    ]);
    expect(categoricalLinf(a, b)).toBe(0.25);
    expect(categoricalLinf(a, new Map([["c", 5]]))).toBe(1);
  });

  it("chi-square goodness of fit: statistic, degrees of freedom, p-value", () => {
    const r = chiSquare(
      new Map([
        ["a", 50],
        ["b", 50],
      ]),
      new Map([
        ["a", 60],
        ["b", 40],
      ]),
    );
    // (60 − 50)²/50 + (40 − 50)²/50 = 4; P(χ²₁ > 4) = erfc(√2) = 0.0455003
    expect(r.statistic).toBe(4);
    expect(r.degreesOfFreedom).toBe(1);
    expect(r.pValue).toBeCloseTo(0.0455003, 6);
    expect(chiSquare(new Map([["a", 1]]), new Map([["z", 1]])).pValue).toBe(0);
  });

  it("regularized upper incomplete gamma matches closed forms", () => {
    expect(gammaQ(1, 2)).toBeCloseTo(Math.exp(-2), 12);
    expect(gammaQ(0.5, 2)).toBeCloseTo(0.0455003, 6);
    // Q(k, x) for integer k = e^−x Σ_{i<k} x^i/i!; k = 3, x = 10: e^−10·(1 + 10 + 50)
    expect(gammaQ(3, 10)).toBeCloseTo(Math.exp(-10) * 61, 12);
  });
});
