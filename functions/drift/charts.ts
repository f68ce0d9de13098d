import * as vega from "vega";
import * as vl from "vega-lite";
import { cdfOf, quantileOf, type WeightedSample } from "./kll.ts";

export const COLORS = { baseline: "#6b7280", current: "#2563eb", drift: "#dc2626", ok: "#16a34a" } as const;

const AXIS = {
  labelFontSize: 10,
  titleFontSize: 11,
  titleFontWeight: "normal",
  gridColor: "#eef0f3",
  domainColor: "#9ca3af",
};

const seriesScale = { domain: ["baseline", "current"], range: [COLORS.baseline, COLORS.current] };

/**
 * Renders a vega-lite spec to an SVG string on the server (renderer "none": no canvas, no DOM, no
 * network). Namespace attributes are dropped: inline SVG in HTML does not need them, and the report
 * must not contain a single URL.
 */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, "");
  } finally {
    view.finalize();
  }
}

const common = (title: string) =>
  ({
    width: 300,
    height: 150,
    background: "white",
    title: { text: title, fontSize: 12, fontWeight: "normal", anchor: "start", color: "#374151" },
    config: { axis: AXIS, legend: { orient: "top", labelFontSize: 10, title: null }, view: { stroke: null } },
  }) as const;

/** Share of each sample per equal-width bin over the union range of both samples. */
export function histogramData(baseline: WeightedSample, current: WeightedSample, bins = 24) {
  const lo = Math.min(baseline.values[0] ?? 0, current.values[0] ?? 0);
  const hi = Math.max(
    baseline.values[baseline.values.length - 1] ?? 0,
    current.values[current.values.length - 1] ?? 0,
  );
  const width = hi > lo ? (hi - lo) / bins : 1;
  const rows: { series: string; start: number; end: number; share: number }[] = [];
  for (const [series, s] of [
    ["baseline", baseline],
    ["current", current],
  ] as const) {
    let prev = 0;
    for (let i = 0; i < bins; i++) {
      const end = i === bins - 1 ? hi : lo + (i + 1) * width;
      const f = i === bins - 1 ? 1 : cdfOf(s, end);
      rows.push({ series, start: lo + i * width, end, share: f - prev });
      prev = f;
    }
  }
  return rows;
}

/** CDF points of both samples at 101 quantiles each (enough for a smooth step curve). */
export function cdfData(baseline: WeightedSample, current: WeightedSample) {
  const rows: { series: string; value: number; cdf: number }[] = [];
  for (const [series, s] of [
    ["baseline", baseline],
    ["current", current],
  ] as const) {
    for (let i = 0; i <= 100; i++) {
      const value = quantileOf(s, i / 100);
      rows.push({ series, value, cdf: cdfOf(s, value) });
    }
  }
  return rows;
}

export function histogramSvg(baseline: WeightedSample, current: WeightedSample): Promise<string> {
  return renderSvg({
    ...common("Histogram (share of values per bin)"),
    data: { values: histogramData(baseline, current) },
    mark: { type: "rect", opacity: 0.55 },
    encoding: {
      x: { field: "start", type: "quantitative", title: null, scale: { zero: false, nice: false } },
      x2: { field: "end" },
      y: { field: "share", type: "quantitative", title: "share", axis: { format: "%" } },
      color: { field: "series", type: "nominal", scale: seriesScale },
    },
  } as vl.TopLevelSpec);
}

export function cdfSvg(baseline: WeightedSample, current: WeightedSample): Promise<string> {
  return renderSvg({
    ...common("Cumulative distribution"),
    data: { values: cdfData(baseline, current) },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
    encoding: {
      x: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
      y: { field: "cdf", type: "quantitative", title: "F(x)", scale: { domain: [0, 1] } },
      color: { field: "series", type: "nominal", scale: seriesScale },
    },
  } as vl.TopLevelSpec);
}

/** Category frequencies side by side (categorical features). */
export function categoriesSvg(
  baseline: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): Promise<string> {
  const share = (m: ReadonlyMap<string, number>) => {
    const n = [...m.values()].reduce((a, b) => a + b, 0) || 1;
    return (k: string) => (m.get(k) ?? 0) / n;
  };
  const sb = share(baseline);
  const sc = share(current);
  const keys = [...new Set([...baseline.keys(), ...current.keys()])].sort().slice(0, 30);
  const values = keys.flatMap((k) => [
    { category: k, series: "baseline", share: sb(k) },
    { category: k, series: "current", share: sc(k) },
  ]);
  return renderSvg({
    ...common("Category frequencies"),
    data: { values },
    mark: { type: "bar" },
    encoding: {
      x: { field: "category", type: "nominal", title: null, axis: { labelAngle: 0 } },
      xOffset: { field: "series" },
      y: { field: "share", type: "quantitative", title: "share", axis: { format: "%" } },
      color: { field: "series", type: "nominal", scale: seriesScale },
    },
  } as vl.TopLevelSpec);
}
