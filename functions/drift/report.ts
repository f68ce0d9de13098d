import type { Baseline } from "./baseline.ts";
import {
  COLORS,
  categoriesSvg,
  cdfSvg,
  DEVICE_COLORS,
  deviceCdfSvg,
  histogramSvg,
  MAX_DEVICE_CURVES,
} from "./charts.ts";
import { compareToBaseline, currentSample, type DriftResult, type FeatureDrift } from "./compare.ts";
import type { FeatureStats, GroupProfile, Profile } from "./profile.ts";
import type { QuarantineEntry } from "./record.ts";
import { CategoricalStats } from "./stats.ts";

export interface DeviceSummary {
  device: string;
  records: number;
  drifted: string[];
  maxDistance: number | null;
  /** Constraint violations this device's data alone raises. */
  violations?: number;
  /** Per-feature distance on this device; when given, the fleet × device grid shows numbers, not only marks. */
  distances?: Readonly<Record<string, number | null>>;
}

export interface ReportInput {
  result: DriftResult;
  baseline: Baseline;
  current: GroupProfile;
  /** e.g. "2026-11-24 22:00–23:00 UTC"; omitted for ad-hoc CLI runs. */
  window?: string;
  devices?: DeviceSummary[];
  /**
   * Each device's own profile (by device name). When given, a feature that drifts on some devices gets
   * a third chart with those devices' CDFs against the baseline and the fleet.
   */
  deviceProfiles?: ReadonlyMap<string, GroupProfile>;
  quarantine?: QuarantineEntry[];
}

// A grid wider than this stops being readable; the most drifted devices are the ones worth a column.
const MAX_DEVICE_COLUMNS = 24;

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
/** Fixed 3 decimals so columns line up; tiny non-zero values say so rather than print as 0.000. */
const num = (x: number | null | undefined) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (x !== 0 && Math.abs(x) < 0.001) return x < 0 ? "&gt;−0.001" : "&lt;0.001";
  return x.toFixed(3);
};
const int = (x: number) => x.toLocaleString("en-US");
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
// Small shares keep two significant digits: "0.020%" says more than "0.0%".
const share = (x: number) => (x >= 0.01 ? pct(x) : `${Number((x * 100).toPrecision(2))}%`);
const natural = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });
// Ids come from feature names (capture data): keep them to a safe alphabet, unique by index.
const anchor = (name: string, i: number) => `f${i}-${name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}`;

/**
 * Each device compared with the baseline on its own: the rows and columns of the report's fleet ×
 * device grid and the curves of its per-device charts, and the per-device entries of drift.json and
 * its metrics. Every device, a single one too; the report shows the grid only for two or more.
 * @example const { devices, deviceProfiles } = deviceBreakdown(baseline, profile);
 *          await renderReport({ result, baseline, current, devices, deviceProfiles });
 */
export function deviceBreakdown(
  baseline: Baseline,
  profile: Profile,
): { devices: (DeviceSummary & { violations: number })[]; deviceProfiles: Map<string, GroupProfile> } {
  const names = [...new Set(profile.groupList().map((g) => g.device))].sort(natural);
  const devices: (DeviceSummary & { violations: number })[] = [];
  const deviceProfiles = new Map<string, GroupProfile>();
  for (const device of names) {
    const g = profile.rollup((x) => x.device === device);
    if (g === undefined) continue;
    const r = compareToBaseline(baseline, g, { total: g.records, valid: g.records, quarantined: 0 });
    // A χ² p-value is not a distance: small is bad. Leave it out of the maximum.
    const distances = r.features.filter((f) => f.method !== "ChiSquared" && f.distance !== null);
    devices.push({
      device,
      records: g.records,
      drifted: r.features.filter((f) => f.drifted).map((f) => f.name),
      maxDistance: distances.length === 0 ? null : Math.max(...distances.map((f) => f.distance as number)),
      violations: r.violations.length,
      distances: Object.fromEntries(r.features.map((f) => [f.name, f.distance])),
    });
    deviceProfiles.set(device, g);
  }
  return { devices, deviceProfiles };
}

/**
 * Drifted on the fleet first, then drifted on more devices, then by distance (largest first), then by
 * name with numbers in order (input_2 < input_10).
 */
export function orderFeatures(
  features: readonly FeatureDrift[],
  devicesDrifting: ReadonlyMap<string, readonly string[]> = new Map(),
): FeatureDrift[] {
  const severity = (f: FeatureDrift) =>
    f.method === "ChiSquared" ? 1 - (f.distance ?? 1) : (f.distance ?? -1);
  const onDevices = (f: FeatureDrift) => devicesDrifting.get(f.name)?.length ?? 0;
  return [...features].sort(
    (a, b) =>
      Number(b.drifted) - Number(a.drifted) ||
      onDevices(b) - onDevices(a) ||
      severity(b) - severity(a) ||
      natural(a.name, b.name),
  );
}

type Verdict = "bad" | "warn" | "good";

/** Distance and threshold with enough digits that they differ when they are not equal (0.1004 vs 0.100). */
function pair(d: number, t: number): [string, string] {
  for (let digits = 3; digits < 7; digits++) {
    const [a, b] = [d.toFixed(digits), t.toFixed(digits)];
    if (a !== b || d === t) return [a, b];
  }
  return [String(d), String(t)];
}

/** "0.105 > 0.100 threshold" — the comparison that decided the verdict, in words. */
function decision(f: FeatureDrift): string {
  if (f.distance === null) return `${esc(f.method)}: no distance (no comparable current values)`;
  const [d, t] = Number.isFinite(f.distance)
    ? pair(f.distance, f.threshold)
    : [num(f.distance), num(f.threshold)];
  if (f.method === "ChiSquared")
    return `χ² p-value <b>${d}</b> ${f.drifted ? "&lt;" : "≥"} significance ${t}`;
  return `${esc(f.method)} distance <b>${d}</b> ${f.drifted ? "&gt;" : "≤"} threshold ${t}`;
}

/** A bar filled to distance ÷ (2 × threshold): the tick in the middle is the threshold. */
function distanceBar(f: FeatureDrift): string {
  if (f.distance === null || f.method === "ChiSquared" || !(f.threshold > 0)) return "";
  const w = Math.min(100, (f.distance / (2 * f.threshold)) * 100);
  return `<span class="bar"><i class="${f.drifted ? "bad" : "good"}" style="width:${w.toFixed(0)}%"></i></span>`;
}

// Each swatch looks like the mark it names: bars as boxes, outlines and curves as lines.
const swatch = (series: "base" | "cur", shape: "box" | "line") =>
  `<span class="sw ${series} ${shape}"></span>`;
const legends = {
  histogram: `<span class="legend">${swatch("base", "box")}baseline ${swatch("cur", "line")}current</span>`,
  cdf: `<span class="legend">${swatch("base", "line")}baseline ${swatch("cur", "line")}current</span>`,
  categories: `<span class="legend">${swatch("base", "box")}baseline ${swatch("cur", "box")}current</span>`,
};

/**
 * One self-contained HTML page: verdict, summary table (drifted features first), fleet × device grid,
 * violations, then per feature the baseline vs current histogram and CDF side by side as inline SVG.
 * No scripts, no external styles or fonts, no URLs: it opens from a mail attachment or an S3 download
 * alike, and prints one feature per block.
 * @example await writeFile("report.html", await renderReport({ result, baseline, current }));
 */
export async function renderReport(report: ReportInput): Promise<string> {
  // A single device is the fleet: a per-device view of it would repeat every number.
  const input: ReportInput =
    (report.devices?.length ?? 0) < 2 ? { ...report, devices: [], deviceProfiles: new Map() } : report;
  const { result, baseline, current } = input;
  const devicesByFeature = new Map<string, string[]>();
  for (const d of input.devices ?? [])
    for (const name of d.drifted)
      devicesByFeature.set(name, [...(devicesByFeature.get(name) ?? []), d.device]);
  const ordered = orderFeatures(result.features, devicesByFeature);
  const deviceCount = input.devices?.length ?? 0;
  // Fine on the fleet but not on every device is its own state: averaged away is not absent.
  const verdictOf = (f: FeatureDrift): Verdict =>
    f.drifted ? "bad" : devicesByFeature.has(f.name) ? "warn" : "good";
  const onDevicesText = (f: FeatureDrift) => {
    const on = devicesByFeature.get(f.name) ?? [];
    return `Per device: drifts on ${on.length} of ${deviceCount} (${esc(on.slice(0, 8).join(", "))}${on.length > 8 ? ", …" : ""})`;
  };
  const ids = new Map(ordered.map((f, i) => [f.name, anchor(f.name, i)]));
  const currentByName = new Map(current.features().map((f) => [f.name, f]));
  const devicesByDrift = [...(input.devices ?? [])].sort(
    (a, b) => (b.maxDistance ?? 0) - (a.maxDistance ?? 0) || natural(a.device, b.device),
  );
  const deviceFeatures = new Map<string, Map<string, FeatureStats>>();
  for (const [device, g] of input.deviceProfiles ?? [])
    deviceFeatures.set(device, new Map(g.features().map((f) => [f.name, f])));
  const sections: string[] = [];
  for (const f of ordered) {
    const b = baseline.features.get(f.name);
    const c = currentByName.get(f.name);
    let charts: string[] = [];
    let deviceLegend = "";
    if (b !== undefined && c !== undefined) {
      if (b.numeric !== undefined) {
        const cs = currentSample(c);
        if (cs !== undefined) {
          charts = await Promise.all([
            histogramSvg(b.numeric.sample, cs, `Histogram of ${f.name}: baseline vs current`),
            cdfSvg(
              b.numeric.sample,
              cs,
              `Cumulative distribution of ${f.name}: baseline vs current`,
              f.drifted ? COLORS.drift : COLORS.gap,
            ),
          ]);
          const onDevices = devicesByDrift
            .filter((d) => d.drifted.includes(f.name))
            .slice(0, MAX_DEVICE_CURVES)
            .flatMap((d) => {
              const df = deviceFeatures.get(d.device)?.get(f.name);
              const sample = df === undefined ? undefined : currentSample(df);
              return sample === undefined ? [] : [{ device: d.device, sample }];
            });
          if (onDevices.length > 0) {
            deviceLegend = `<span class="legend">${swatch("base", "line")}baseline <span class="sw line dash"></span>fleet ${onDevices
              .map(
                (d, i) =>
                  `<span class="li"><span class="sw line" style="border-top-color:${DEVICE_COLORS[i]}"></span>${esc(d.device)}</span>`,
              )
              .join(" ")}</span>`;
            charts.push(
              await deviceCdfSvg(
                b.numeric.sample,
                cs,
                onDevices,
                `Cumulative distribution of ${f.name} on the devices where it drifts`,
              ),
            );
          }
        }
      } else if (b.categories !== undefined && c.stats instanceof CategoricalStats) {
        charts = [
          await categoriesSvg(
            b.categories,
            c.stats.counts(),
            `Category frequencies of ${f.name}: baseline vs current`,
          ),
        ];
      }
    }
    const captions =
      charts.length >= 2
        ? [
            `Histogram ${legends.histogram}`,
            `Cumulative distribution ${legends.cdf}`,
            `Devices where it drifts ${deviceLegend}`,
          ]
        : [`Category frequencies ${legends.categories}`];
    const extras = [
      f.linf !== null && f.method !== "LInfinity" ? `L∞ ${num(f.linf)}` : "",
      f.psi !== null ? `PSI ${num(f.psi)}` : "",
      f.jensenShannon !== null ? `JS ${num(f.jensenShannon)}` : "",
      `baseline n=${int(f.n)}`,
      `current n=${int(f.m)}`,
      f.completeness < 1 ? `completeness ${pct(f.completeness)}` : "",
      f.nonFinite > 0 ? `<span class="warn">${int(f.nonFinite)} non-finite</span>` : "",
    ].filter((s) => s !== "");
    const v = verdictOf(f);
    sections.push(`<section class="feature ${v}" id="${ids.get(f.name)}">
<h3>${esc(f.name)} <span class="kind">${esc(f.kind)}</span> ${badge(v)}</h3>
<p class="decision">${decision(f)}</p>${devicesByFeature.has(f.name) ? `\n<p class="decision ondev">${onDevicesText(f)}</p>` : ""}
<p class="metrics">${extras.join(" · ")}</p>
${
  charts.length === 0
    ? `<p class="none">No chart: the feature is missing from the ${b === undefined ? "baseline" : "current data"}.</p>`
    : `<div class="charts">${charts.map((svg, i) => `<figure><figcaption>${captions[i]}</figcaption>${svg}</figure>`).join("")}</div>`
}
</section>`);
  }
  const drifted = result.features.filter((f) => f.drifted).length;
  const r = result.records;
  const quarantine = input.quarantine ?? [];
  const devices = input.devices ?? [];
  const driftedDevices = devices.filter((d) => d.drifted.length > 0).length;
  const deviceNote =
    driftedDevices > 0 ? `; ${driftedDevices} of ${devices.length} devices drift on their own` : "";
  const verdict = result.drifted
    ? `<p class="verdict bad">Drift detected in ${drifted} of ${result.features.length} features${deviceNote}</p>`
    : driftedDevices > 0
      ? `<p class="verdict warn">No fleet-level drift, but ${driftedDevices} of ${devices.length} devices drift (${esc([...devicesByFeature.keys()].sort(natural).join(", "))})</p>`
      : `<p class="verdict good">No drift: all ${result.features.length} features within thresholds</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report · ${esc(result.model)} · ${esc(result.fleet)}</title>
<style>${css()}</style></head>
<body><main>
<header>
<h1>Drift report — ${esc(result.model)}</h1>
<p class="sub">fleet ${esc(result.fleet)}${result.device !== "*" ? ` · device ${esc(result.device)}` : ""}${input.window !== undefined ? ` · window ${esc(input.window)}` : ""}</p>
${verdict}
<div class="cards">
<div class="card${drifted > 0 ? " bad" : ""}">features drifted<b>${drifted} / ${result.features.length}</b></div>
${devices.length > 0 ? `<div class="card${driftedDevices > 0 ? " bad" : ""}">devices drifted<b>${driftedDevices} / ${devices.length}</b></div>` : ""}
<div class="card${result.violations.length > 0 ? " bad" : ""}">violations<b>${result.violations.length}</b></div>
<div class="card">records<b>${int(r.total)}</b></div>
<div class="card">valid<b>${int(r.valid)}</b></div>
<div class="card${r.quarantined > 0 ? " warn" : ""}">quarantined<b>${int(r.quarantined)}</b>${r.quarantined > 0 && r.total > 0 ? `<small>${share(r.quarantined / r.total)} of records</small>` : ""}</div>
</div>
</header>
<h2>Summary</h2>
<div class="scroll"><table class="summary"><thead><tr><th>feature</th><th>kind</th><th>method</th><th class="n">distance</th><th class="n">threshold</th><th class="bc">distance vs threshold</th><th class="n">PSI</th><th class="n">JS</th><th class="n">complete</th>${deviceCount > 0 ? `<th class="n">devices drifted</th>` : ""}<th>verdict</th></tr></thead><tbody>
${ordered
  .map(
    (f) =>
      `<tr class="${verdictOf(f)}"><td><a href="#${ids.get(f.name)}">${esc(f.name)}</a></td><td>${esc(f.kind)}</td><td>${esc(f.method)}${f.method === "ChiSquared" ? " (p)" : ""}</td><td class="n">${num(f.distance)}</td><td class="n">${num(f.threshold)}</td><td class="bc">${distanceBar(f)}</td><td class="n">${num(f.psi)}</td><td class="n">${num(f.jensenShannon)}</td><td class="n">${pct(f.completeness)}</td>${deviceCount > 0 ? `<td class="n">${devicesByFeature.has(f.name) ? `${devicesByFeature.get(f.name)?.length} / ${deviceCount}` : "–"}</td>` : ""}<td>${badge(verdictOf(f))}</td></tr>`,
  )
  .join("\n")}
</tbody></table></div>
${deviceGrid(ordered, devices, ids)}
${violationsTable(result)}
${quarantineTable(quarantine, r.quarantined)}
<h2>Features</h2>
<p class="hint">Grey bars and curves: baseline. Blue: current data. The dashed line on each CDF marks where the two curves are furthest apart (L∞). Axes span the 0.1–99.9th percentiles of both; values beyond count in the outermost bins.</p>
${sections.join("\n")}
</main></body></html>
`;
}

function css(): string {
  return `
:root{--warn:#d97706;--bad:${COLORS.drift};--ok:${COLORS.ok};--base:${COLORS.baseline};--cur:${COLORS.current}}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:16px;margin:0 0 2px}
.sub{color:#4b5563;margin:0 0 12px}.hint{color:#4b5563;margin:0 0 8px}
.verdict{display:inline-block;padding:8px 14px;border-radius:6px;font-weight:700;font-size:16px;margin:0}
.verdict.bad{background:#fee2e2;color:#991b1b;border:1px solid #fca5a5}.verdict.warn{background:#fef3c7;color:#92400e;border:1px solid #fcd34d}.verdict.good{background:#dcfce7;color:#166534;border:1px solid #86efac}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:14px 0 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px 14px;min-width:110px;color:#4b5563;font-size:12px}
.card b{display:block;font-size:20px;color:#111827;font-variant-numeric:tabular-nums}.card small{color:#6b7280}
.card.bad{border-color:#fca5a5}.card.bad b{color:#b91c1c}.card.warn b{color:#b45309}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #f0f1f3;font-variant-numeric:tabular-nums;white-space:nowrap}
td.wrap{white-space:normal}
th{background:#f3f4f6;font-weight:600;font-size:12px;color:#374151}.n{text-align:right}
tr.bad td:first-child{border-left:4px solid var(--bad)}tr.warn td:first-child{border-left:4px solid var(--warn)}tr.good td:first-child{border-left:4px solid var(--ok)}
tr.bad td{background:#fef2f2}
a{color:#1d4ed8}
.badge{font-size:11px;padding:2px 8px;border-radius:10px;font-weight:700;vertical-align:middle;letter-spacing:.02em}
.badge.bad{background:var(--bad);color:#fff}.badge.warn{background:#fef3c7;color:#92400e}.badge.good{background:#dcfce7;color:#166534}
.bar{display:inline-block;position:relative;width:120px;height:8px;background:#f3f4f6;border-radius:4px;vertical-align:middle}
.bar i{position:absolute;left:0;top:0;bottom:0;border-radius:4px}.bar i.bad{background:var(--bad)}.bar i.good{background:var(--ok)}
.bar::after{content:"";position:absolute;left:50%;top:-3px;bottom:-3px;border-left:2px solid #374151}
.kind{font-size:12px;color:#6b7280;font-weight:normal}
.feature{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px;margin:12px 0;break-inside:avoid}
.feature.bad{border-left:5px solid var(--bad)}.feature.warn{border-left:5px solid var(--warn)}.feature.good{border-left:5px solid var(--ok)}
.decision{margin:2px 0}.feature.bad .decision{color:#991b1b}.decision.ondev{color:#92400e}.metrics{color:#4b5563;margin:0 0 8px;font-size:13px}
span.warn{color:#b45309}.none{color:#6b7280}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:12px}
figure{margin:0}figcaption{font-size:12px;color:#374151;margin:0 0 2px}
svg{max-width:100%;height:auto}svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.legend{color:#4b5563;margin-left:10px}.sw{display:inline-block;width:14px;height:10px;margin:0 4px 0 8px;vertical-align:-1px}
.sw.box.base{background:var(--base)}.sw.box.cur{background:var(--cur)}
.sw.line{height:0;vertical-align:3px;border-top:3px solid}.sw.dash{border-top:3px dashed var(--cur)}.li{white-space:nowrap}.sw.line.base{border-top:3px solid var(--base)}.sw.line.cur{border-top:3px solid var(--cur)}
.grid{width:auto}.grid td,.grid th{text-align:center;padding:4px 6px;font-size:12px}.grid th.dev{writing-mode:vertical-rl;transform:rotate(180deg);vertical-align:bottom}
.grid td.f{text-align:left}.grid thead th{vertical-align:bottom}.grid td.x{background:#fee2e2;color:#991b1b;font-weight:700}.grid td.o{color:#9ca3af}
.scroll{overflow-x:auto}
code{font-size:12px}
@media print{body{background:#fff;font-size:11px}main{max-width:none;padding:0}.card,.feature,table{border-color:#d1d5db}
h2{break-after:avoid}a{color:inherit;text-decoration:none}.charts{grid-template-columns:1fr 1fr}
th,td{padding:3px 5px}th{white-space:normal}.bc{display:none}.scroll{overflow:visible}tr{break-inside:avoid}.hint{font-size:10px}}
`;
}

function badge(v: Verdict): string {
  if (v === "bad") return `<span class="badge bad">DRIFT</span>`;
  if (v === "warn") return `<span class="badge warn">on devices</span>`;
  return `<span class="badge good">ok</span>`;
}

/**
 * Fleet column plus one column per device for the features that drift anywhere; features fine on every
 * device are counted, not listed. Devices with most drifted features come first.
 */
function deviceGrid(
  ordered: readonly FeatureDrift[],
  devices: readonly DeviceSummary[],
  ids: ReadonlyMap<string, string | undefined>,
): string {
  if (devices.length === 0) return "";
  const sorted = [...devices].sort(
    (a, b) =>
      b.drifted.length - a.drifted.length ||
      (b.maxDistance ?? 0) - (a.maxDistance ?? 0) ||
      natural(a.device, b.device),
  );
  const cols = sorted.slice(0, MAX_DEVICE_COLUMNS);
  const driftedOn = new Map(sorted.map((d) => [d.device, new Set(d.drifted)]));
  const rows = ordered.filter((f) => f.drifted || sorted.some((d) => driftedOn.get(d.device)?.has(f.name)));
  const cell = (d: DeviceSummary, name: string) => {
    const bad = driftedOn.get(d.device)?.has(name) === true;
    // Own keys only: a feature named "constructor" must not read Object.prototype.
    const v = d.distances !== undefined && Object.hasOwn(d.distances, name) ? d.distances[name] : undefined;
    const text = v === undefined ? (bad ? "●" : "·") : num(v);
    return `<td class="${bad ? "x" : "o"}">${text}</td>`;
  };
  const grid =
    rows.length === 0
      ? `<p>No feature drifts on the fleet or on any device.</p>`
      : `<div class="scroll"><table class="grid"><thead><tr><th>feature</th><th>fleet</th>${cols.map((d) => `<th class="dev">${esc(d.device)}</th>`).join("")}</tr></thead><tbody>
${rows.map((f) => `<tr><td class="f"><a href="#${ids.get(f.name)}">${esc(f.name)}</a></td><td class="${f.drifted ? "x" : "o"}">${num(f.distance)}</td>${cols.map((d) => cell(d, f.name)).join("")}</tr>`).join("\n")}
</tbody></table></div>
<p class="hint">${rows.length} of ${ordered.length} features drift on the fleet or on at least one device; the other ${ordered.length - rows.length} are within thresholds everywhere.${cols.length < sorted.length ? ` Grid shows the ${cols.length} most drifted of ${sorted.length} devices; the table below lists all.` : ""} ${devices.some((d) => d.distances !== undefined) ? "" : "● drifted on that device, · within threshold."}</p>`;
  return `<h2>Fleet and devices</h2>
${grid}
<table><thead><tr><th>device</th><th class="n">records</th><th class="n">max distance</th><th>drifted features</th></tr></thead><tbody>
${sorted.map((d) => `<tr class="${d.drifted.length > 0 ? "bad" : "good"}"><td>${esc(d.device)}</td><td class="n">${int(d.records)}</td><td class="n">${num(d.maxDistance)}</td><td class="wrap">${d.drifted.length === 0 ? "–" : esc([...d.drifted].sort(natural).join(", "))}</td></tr>`).join("\n")}
</tbody></table>`;
}

function violationsTable(result: DriftResult): string {
  if (result.violations.length === 0) return "<h2>Constraint violations</h2><p>None.</p>";
  return `<h2>Constraint violations</h2><table><thead><tr><th>feature</th><th>check</th><th>description</th></tr></thead><tbody>
${result.violations.map((v) => `<tr class="bad"><td>${esc(v.feature_name)}</td><td><code>${esc(v.constraint_check_type)}</code></td><td class="wrap">${esc(v.description)}</td></tr>`).join("\n")}
</tbody></table>`;
}

function quarantineTable(entries: QuarantineEntry[], total: number): string {
  if (total === 0) return "";
  if (entries.length === 0) {
    return `<h2>Quarantined records</h2><p>${int(total)} record(s) could not be read and were skipped; each capture file's list is under <code>quarantine/</code> beside its profile.</p>`;
  }
  const shown = entries.slice(0, 20);
  return `<h2>Quarantined records</h2><p>${int(total)} record(s) could not be read and were skipped${shown.length < total ? `; first ${shown.length} shown` : ""}.</p>
<table><thead><tr><th>file</th><th class="n">line</th><th>reason</th></tr></thead><tbody>
${shown.map((q) => `<tr><td class="wrap">${esc(q.file)}</td><td class="n">${q.line}</td><td class="wrap">${esc(q.reason)}</td></tr>`).join("\n")}
</tbody></table>`;
}
