import * as vega from "vega";
import * as vl from "vega-lite";
import { cdfOf, quantileOf, type WeightedSample } from "./kll.ts";

export const COLORS = {
  baseline: "#9ca3af",
  current: "#2563eb",
  drift: "#dc2626",
  ok: "#16a34a",
  gap: "#111827",
} as const;

const AXIS = {
  labelFontSize: 11,
  labelColor: "#374151",
  titleFontSize: 11,
  titleFontWeight: "normal",
  titleColor: "#4b5563",
  gridColor: "#eef0f3",
  domainColor: "#9ca3af",
  tickColor: "#9ca3af",
  labelFlush: true,
  labelOverlap: true,
};

// Vertical grid lines add ink, not information, to a distribution chart.
const AXIS_X = { grid: false };
// The y grid already marks each tick.
const AXIS_Y = { ticks: false, labelPadding: 4 };

const seriesScale = { domain: ["baseline", "current"], range: [COLORS.baseline, COLORS.current] };
const WIDTH = 420;
const HEIGHT = 170;

/**
 * Vega's SVG carries per-mark ARIA roles, class names, pointer-events and empty background paths that
 * a static page never uses; with 20 features × 2 charts they were ~¾ of a 750 kB page. Coordinates are
 * rounded to 0.1 px (invisible at screen and print resolution). Text takes the page's font (CSS). Namespace attributes go too: inline SVG
 * in HTML does not need them, and the report must not contain a single URL.
 */
export function slimSvg(svg: string): string {
  return svg
    .replace(/\s+xmlns(:xlink)?="[^"]*"/g, "")
    .replace(
      /<path class="(?:background|foreground)"[^>]*?(?:d="M0,0h0v0h0Z"|d=""|display="none")[^>]*\/>/g,
      "",
    )
    .replace(
      /\s(?:class|role|aria-roledescription|aria-hidden|pointer-events|stroke-miterlimit)="[^"]*"/g,
      "",
    )
    .replace(/\s(?:opacity|fill-opacity|stroke-opacity|stroke-width)="1"/g, "")
    .replace(/\stransform="translate\(0,0\)"/g, "")
    .replace(/\s(?:version)="[^"]*"/g, "")
    .replace(
      /\s(d|transform|x|y|x2|y2|width|height)="([^"]*)"/g,
      (_, k: string, v: string) => ` ${k}="${roundAll(v)}"`,
    )
    .replace(/\sfont-family="[^"]*"/g, "")
    .replace(/<path d="M0,0h[\d.]+v[\d.]+h-[\d.]+Z"\/>/g, "")
    .replace(/<g><\/g>/g, "");
}

// Only inside geometry attributes: axis labels such as "0.125" are text and stay exact.
const roundAll = (v: string) => v.replace(/-?\d+\.\d{2,}/g, (n) => String(Math.round(Number(n) * 10) / 10));

/**
 * Renders a vega-lite spec to an SVG string on the server (renderer "none": no canvas, no DOM, no
 * network). `label` becomes the chart's accessible name; it is escaped here because it may hold a
 * feature name taken from capture data.
 */
export async function renderSvg(spec: vl.TopLevelSpec, label?: string): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = slimSvg(await view.toSVG());
    return label === undefined ? svg : svg.replace(/^<svg/, `<svg role="img" aria-label="${escAttr(label)}"`);
  } finally {
    view.finalize();
  }
}

const escAttr = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

// No vega legend: the page draws one legend per chart in HTML, so every chart keeps its full width.
// Fixed padding instead of "pad" autosizing: a histogram and its CDF then have the same outer size and
// their plot areas line up side by side whatever their labels.
const common = {
  width: WIDTH,
  height: HEIGHT,
  background: "white",
  autosize: { type: "none" },
  padding: { left: 58, right: 18, top: 10, bottom: 40 },
  config: {
    axis: AXIS,
    axisX: AXIS_X,
    axisY: AXIS_Y,
    view: { stroke: null },
    aria: false,
    legend: { disable: true },
  },
} as const;

/** Share of records the axes may leave out at each end, so one sensor spike cannot squash the chart. */
export const TAIL = 0.001;

/**
 * The x range both charts share (so their axes line up): from the lower to the upper TAIL quantile
 * over both samples. Values beyond fall into the outermost histogram bins.
 */
export function unionRange(baseline: WeightedSample, current: WeightedSample): [number, number] {
  const ends = [baseline, current].filter((s) => s.n > 0);
  if (ends.length === 0) return [0, 1];
  const lo = Math.min(...ends.map((s) => quantileOf(s, TAIL)));
  const hi = Math.max(...ends.map((s) => quantileOf(s, 1 - TAIL)));
  // A constant feature still gets a visible, non-degenerate axis.
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** Share of each sample per equal-width bin over the union range of both samples. */
export function histogramData(baseline: WeightedSample, current: WeightedSample, bins = 24) {
  const [lo, hi] = unionRange(baseline, current);
  const width = (hi - lo) / bins;
  const rows: { series: string; start: number; end: number; share: number }[] = [];
  for (const [series, s] of [
    ["baseline", baseline],
    ["current", current],
  ] as const) {
    let prev = 0;
    for (let i = 0; i < bins; i++) {
      const end = i === bins - 1 ? lo + bins * width : lo + (i + 1) * width;
      const f = i === bins - 1 ? 1 : cdfOf(s, end);
      rows.push({ series, start: lo + i * width, end, share: f - prev });
      prev = f;
    }
  }
  return rows;
}

/**
 * CDF points of both samples at 101 quantiles each (enough for a smooth step curve), each curve
 * running across the whole shared range.
 */
export function cdfData(baseline: WeightedSample, current: WeightedSample) {
  const [lo, hi] = unionRange(baseline, current);
  const rows: { series: string; value: number; cdf: number }[] = [];
  for (const [series, s] of [
    ["baseline", baseline],
    ["current", current],
  ] as const) {
    if (s.n === 0) continue;
    rows.push({ series, value: lo, cdf: cdfOf(s, lo) });
    let last = lo;
    for (let i = 0; i <= 100; i++) {
      const value = quantileOf(s, i / 100);
      // Repeated quantiles (discrete or heavily tied values) add points but no shape; points
      // outside the shared range would only be clipped.
      if (value <= last || value >= hi) continue;
      last = value;
      rows.push({ series, value, cdf: cdfOf(s, value) });
    }
    rows.push({ series, value: hi, cdf: cdfOf(s, hi) });
  }
  return rows;
}

/** Where the two CDFs are furthest apart: the point the L∞ distance is measured at. */
export function largestGap(baseline: WeightedSample, current: WeightedSample) {
  let best = { value: Number.NaN, baseline: 0, current: 0, gap: 0 };
  for (const s of [baseline, current]) {
    for (const value of s.values) {
      const fb = cdfOf(baseline, value);
      const fc = cdfOf(current, value);
      if (Math.abs(fb - fc) > best.gap) best = { value, baseline: fb, current: fc, gap: Math.abs(fb - fc) };
    }
  }
  return best;
}

/**
 * Baseline as grey bars, current as a blue step outline on top: two overlaid translucent fills mix
 * into a third colour that belongs to neither series.
 */
export function histogramSvg(
  baseline: WeightedSample,
  current: WeightedSample,
  label = "Histogram",
): Promise<string> {
  const rows = histogramData(baseline, current);
  const outline = rows.filter((r) => r.series === "current");
  const last = outline[outline.length - 1];
  // step-after needs a closing point at the right edge of the last bin.
  const steps = [
    ...outline.map((r) => ({ x: r.start, share: r.share })),
    ...(last === undefined ? [] : [{ x: last.end, share: last.share }]),
  ];
  return renderSvg(
    {
      ...common,
      layer: [
        {
          data: { values: rows.filter((r) => r.series === "baseline") },
          mark: { type: "rect", color: COLORS.baseline, opacity: 0.6 },
          encoding: {
            x: {
              field: "start",
              type: "quantitative",
              title: "value",
              scale: { zero: false, nice: false },
              axis: { tickCount: 6 },
            },
            x2: { field: "end" },
            y: {
              field: "share",
              type: "quantitative",
              title: "share of records",
              axis: { format: ".0%", tickCount: 4 },
            },
          },
        },
        {
          data: { values: steps },
          mark: { type: "line", interpolate: "step-after", color: COLORS.current, strokeWidth: 2 },
          encoding: {
            x: { field: "x", type: "quantitative" },
            y: { field: "share", type: "quantitative" },
          },
        },
      ],
    } as vl.TopLevelSpec,
    label,
  );
}

/** The x (value, on the shared range) and y (cumulative share) channels every CDF chart uses. */
const cdfAxes = (lo: number, hi: number) => ({
  x: {
    field: "value",
    type: "quantitative",
    title: "value",
    scale: { domain: [lo, hi], nice: false, zero: false },
    axis: { tickCount: 6 },
  },
  y: {
    field: "cdf",
    type: "quantitative",
    title: "share of records ≤ value",
    scale: { domain: [0, 1] },
    axis: { format: ".0%", tickCount: 5 },
  },
});

/** Both CDFs as step curves, with the largest vertical gap (the L∞ distance) marked. */
export function cdfSvg(
  baseline: WeightedSample,
  current: WeightedSample,
  label = "Cumulative distribution",
  gapColor: string = COLORS.gap,
): Promise<string> {
  const gap = largestGap(baseline, current);
  const [lo, hi] = unionRange(baseline, current);
  // The label goes where no curve is: left of the upper end (above both curves), or, near the left
  // edge where that would be cut off, right of the lower end (below both curves).
  const leftRoom = hi > lo ? (gap.value - lo) / (hi - lo) > 0.25 : false;
  const upper = Math.max(gap.baseline, gap.current);
  const lower = Math.min(gap.baseline, gap.current);
  const gapLayers =
    Number.isFinite(gap.value) && gap.gap > 0 && gap.value >= lo && gap.value <= hi
      ? [
          {
            data: { values: [{ x: gap.value, y: gap.baseline, y2: gap.current }] },
            mark: { type: "rule", color: gapColor, strokeWidth: 2, strokeDash: [3, 2] },
            encoding: {
              x: { field: "x", type: "quantitative" },
              y: { field: "y", type: "quantitative" },
              y2: { field: "y2" },
            },
          },
          {
            data: {
              values: [
                {
                  x: gap.value,
                  y: leftRoom ? upper : lower,
                  text: `L∞ ${gap.gap.toFixed(3)}`,
                },
              ],
            },
            mark: {
              type: "text",
              align: leftRoom ? "right" : "left",
              baseline: leftRoom ? "bottom" : "top",
              dx: leftRoom ? -4 : 4,
              dy: leftRoom ? -2 : 2,
              fontSize: 11,
              color: gapColor,
              fontWeight: "bold",
            },
            encoding: {
              x: { field: "x", type: "quantitative" },
              y: { field: "y", type: "quantitative" },
              text: { field: "text" },
            },
          },
        ]
      : [];
  return renderSvg(
    {
      ...common,
      layer: [
        {
          data: { values: cdfData(baseline, current) },
          mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
          encoding: {
            ...cdfAxes(lo, hi),
            color: { field: "series", type: "nominal", scale: seriesScale },
          },
        },
        ...gapLayers,
      ],
    } as vl.TopLevelSpec,
    label,
  );
}

/** Category frequencies side by side (categorical features); at most 30 categories, largest first. */
export function categoriesSvg(
  baseline: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
  label = "Category frequencies",
): Promise<string> {
  const share = (m: ReadonlyMap<string, number>) => {
    const n = [...m.values()].reduce((a, b) => a + b, 0) || 1;
    return (k: string) => (m.get(k) ?? 0) / n;
  };
  const sb = share(baseline);
  const sc = share(current);
  const keys = [...new Set([...baseline.keys(), ...current.keys()])]
    .sort(
      (a, b) =>
        Math.max(sb(b), sc(b)) - Math.max(sb(a), sc(a)) || a.localeCompare(b, "en", { numeric: true }),
    )
    .slice(0, 30)
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const values = keys.flatMap((k) => [
    { category: k, series: "baseline", share: sb(k) },
    { category: k, series: "current", share: sc(k) },
  ]);
  return renderSvg(
    {
      ...common,
      data: { values },
      mark: { type: "bar" },
      encoding: {
        x: { field: "category", type: "nominal", title: "category", sort: keys, axis: { labelAngle: 0 } },
        xOffset: { field: "series", sort: ["baseline", "current"] },
        y: {
          field: "share",
          type: "quantitative",
          title: "share of records",
          axis: { format: ".0%", tickCount: 4 },
        },
        color: { field: "series", type: "nominal", scale: seriesScale },
      },
    } as vl.TopLevelSpec,
    label,
  );
}

// Distinct from the baseline grey and the fleet blue; a ninth device would repeat a colour, so callers cap at 8.
export const DEVICE_COLORS = [
  "#dc2626",
  "#ea580c",
  "#a21caf",
  "#ca8a04",
  "#0d9488",
  "#7c3aed",
  "#be123c",
  "#65a30d",
];
export const MAX_DEVICE_CURVES = DEVICE_COLORS.length;

/**
 * CDFs of single devices against the baseline and the whole fleet: shows whether a fleet-level shift
 * is everywhere or one or two devices pulling it. Device i is drawn in DEVICE_COLORS[i]; the page
 * names them in its HTML legend, like the other charts.
 */
export function deviceCdfSvg(
  baseline: WeightedSample,
  fleet: WeightedSample,
  devices: readonly { device: string; sample: WeightedSample }[],
  label = "Cumulative distribution by device",
): Promise<string> {
  const shown = devices.slice(0, MAX_DEVICE_CURVES);
  const names = ["baseline", "fleet", ...shown.map((d) => `device ${d.device}`)];
  const all = [baseline, fleet, ...shown.map((d) => d.sample)];
  const [lo, hi] = all.reduce<[number, number]>(
    ([l, h], s) => {
      const [a, b] = unionRange(s, s);
      return [Math.min(l, a), Math.max(h, b)];
    },
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
  );
  const values = all.flatMap((s, i) =>
    cdfData(s, s)
      .filter((r) => r.series === "baseline")
      .map((r) => ({ series: names[i], value: r.value, cdf: r.cdf })),
  );
  // Each curve's own range stops short of the shared one: extend it flat to both edges.
  for (const [i, s] of all.entries()) {
    values.push(
      { series: names[i], value: lo, cdf: cdfOf(s, lo) },
      { series: names[i], value: hi, cdf: cdfOf(s, hi) },
    );
  }
  values.sort((a, b) => a.value - b.value);
  return renderSvg(
    {
      ...common,
      data: { values },
      mark: { type: "line", interpolate: "step-after", clip: true },
      encoding: {
        ...cdfAxes(lo, hi),
        color: {
          field: "series",
          type: "nominal",
          sort: names,
          scale: { domain: names, range: [COLORS.baseline, COLORS.current, ...DEVICE_COLORS] },
        },
        strokeWidth: {
          condition: { test: "datum.series === 'baseline' || datum.series === 'fleet'", value: 2.5 },
          value: 1.5,
        },
        strokeDash: {
          condition: { test: "datum.series === 'fleet'", value: [4, 2] },
          value: [1, 0],
        },
      },
    } as vl.TopLevelSpec,
    label,
  );
}
