import type { Baseline } from "./baseline.ts";
import { COLORS, categoriesSvg, cdfSvg, histogramSvg } from "./charts.ts";
import { currentSample, type DriftResult, type FeatureDrift } from "./compare.ts";
import type { GroupProfile } from "./profile.ts";
import type { QuarantineEntry } from "./record.ts";
import { CategoricalStats } from "./stats.ts";

export interface DeviceSummary {
  device: string;
  records: number;
  drifted: string[];
  maxDistance: number | null;
}

export interface ReportInput {
  result: DriftResult;
  baseline: Baseline;
  current: GroupProfile;
  /** e.g. "2026-11-24 22:00–23:00 UTC"; omitted for ad-hoc CLI runs. */
  window?: string;
  devices?: DeviceSummary[];
  quarantine?: QuarantineEntry[];
}

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
const num = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
// Small shares keep two significant digits: "0.020%" says more than "0.0%".
const share = (x: number) => (x >= 0.01 ? pct(x) : `${Number((x * 100).toPrecision(2))}%`);

/** Drifted first, then by distance (largest first), so the table reads as a to-do list. */
export function orderFeatures(features: readonly FeatureDrift[]): FeatureDrift[] {
  const severity = (f: FeatureDrift) =>
    f.method === "ChiSquared" ? 1 - (f.distance ?? 1) : (f.distance ?? -1);
  return [...features].sort(
    (a, b) =>
      Number(b.drifted) - Number(a.drifted) || severity(b) - severity(a) || a.name.localeCompare(b.name),
  );
}

/**
 * One self-contained HTML page: verdict, summary table (drifted features first), violations, devices,
 * then per feature the baseline vs current histogram and CDF as inline SVG. No scripts, no external
 * styles or fonts, no URLs: it opens from a mail attachment or an S3 download alike.
 * @example await writeFile("report.html", await renderReport({ result, baseline, current }));
 */
export async function renderReport(input: ReportInput): Promise<string> {
  const { result, baseline, current } = input;
  const ordered = orderFeatures(result.features);
  const currentByName = new Map(current.features().map((f) => [f.name, f]));
  const sections: string[] = [];
  for (const f of ordered) {
    const b = baseline.features.get(f.name);
    const c = currentByName.get(f.name);
    if (b === undefined || c === undefined) continue;
    let charts: string[] = [];
    if (b.numeric !== undefined) {
      const cs = currentSample(c);
      if (cs !== undefined)
        charts = await Promise.all([histogramSvg(b.numeric.sample, cs), cdfSvg(b.numeric.sample, cs)]);
    } else if (b.categories !== undefined && c.stats instanceof CategoricalStats) {
      charts = [await categoriesSvg(b.categories, c.stats.counts())];
    }
    sections.push(`<section class="feature ${f.drifted ? "bad" : "good"}" id="f-${esc(f.name)}">
  <h3>${esc(f.name)} <span class="kind">${f.kind}</span> ${badge(f.drifted)}</h3>
  <p class="metrics">${esc(f.method)} distance <b>${num(f.distance)}</b> ${f.method === "ChiSquared" ? "(p-value) vs" : "vs threshold"} ${num(f.threshold, 3)}
    · L∞ ${num(f.linf)} · PSI ${num(f.psi)} · JS ${num(f.jensenShannon)} · n=${f.n} baseline, m=${f.m} current${f.nonFinite > 0 ? ` · <span class="warn">${f.nonFinite} non-finite</span>` : ""}</p>
  <div class="charts">${charts.map((svg) => `<figure>${svg}</figure>`).join("")}</div>
</section>`);
  }
  const drifted = result.features.filter((f) => f.drifted).length;
  const verdict = result.drifted
    ? `<span class="verdict bad">Drift detected in ${drifted} of ${result.features.length} features</span>`
    : `<span class="verdict good">No drift: ${result.features.length} features within thresholds</span>`;
  const r = result.records;
  const quarantine = input.quarantine ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report · ${esc(result.model)} · ${esc(result.fleet)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 4px}
.sub{color:#6b7280;margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card small{color:#6b7280}
.verdict{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:600}
.verdict.bad{background:#fee2e2;color:${COLORS.drift}}.verdict.good{background:#dcfce7;color:${COLORS.ok}}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb;border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #f0f1f3;font-variant-numeric:tabular-nums}
th{background:#f3f4f6;font-weight:600;font-size:12px;color:#374151}
tr.bad td:first-child{border-left:4px solid ${COLORS.drift}}tr.good td:first-child{border-left:4px solid ${COLORS.ok}}
.badge{font-size:11px;padding:2px 8px;border-radius:10px;font-weight:600;vertical-align:middle}
.badge.bad{background:#fee2e2;color:${COLORS.drift}}.badge.good{background:#dcfce7;color:${COLORS.ok}}
.kind{font-size:11px;color:#6b7280;font-weight:normal}
.feature{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px;margin:12px 0}
.feature.bad{border-left:4px solid ${COLORS.drift}}.feature.good{border-left:4px solid ${COLORS.ok}}
.metrics{color:#374151;margin:0 0 8px}.warn{color:#b45309}
.charts{display:flex;gap:12px;flex-wrap:wrap}figure{margin:0}
.legend{color:#6b7280;font-size:12px}.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px}
code{font-size:12px}
</style></head>
<body><main>
<h1>Drift report — ${esc(result.model)}</h1>
<p class="sub">fleet ${esc(result.fleet)}${result.device !== "*" ? ` · device ${esc(result.device)}` : ""}${input.window !== undefined ? ` · window ${esc(input.window)}` : ""}</p>
${verdict}
<div class="cards">
<div class="card">records<b>${r.total}</b></div>
<div class="card">valid<b>${r.valid}</b></div>
<div class="card">quarantined<b>${r.quarantined}</b>${r.quarantined > 0 && r.total > 0 ? `<small>${share(r.quarantined / r.total)} of records</small>` : ""}</div>
<div class="card">violations<b>${result.violations.length}</b></div>
</div>
<p class="legend">Charts:<span class="sw" style="background:${COLORS.baseline}"></span>baseline<span class="sw" style="background:${COLORS.current}"></span>current</p>
<h2>Summary</h2>
<table><thead><tr><th>feature</th><th>kind</th><th>method</th><th>distance</th><th>threshold</th><th>PSI</th><th>JS</th><th>completeness</th><th>verdict</th></tr></thead><tbody>
${ordered
  .map(
    (f) =>
      `<tr class="${f.drifted ? "bad" : "good"}"><td><a href="#f-${esc(f.name)}">${esc(f.name)}</a></td><td>${f.kind}</td><td>${f.method}</td><td>${num(f.distance)}</td><td>${num(f.threshold, 3)}</td><td>${num(f.psi)}</td><td>${num(f.jensenShannon)}</td><td>${pct(f.completeness)}</td><td>${badge(f.drifted)}</td></tr>`,
  )
  .join("\n")}
</tbody></table>
${violationsTable(result)}
${devicesTable(input.devices)}
${quarantineTable(quarantine, r.quarantined)}
<h2>Features</h2>
${sections.join("\n")}
</main></body></html>
`;
}

function badge(drifted: boolean): string {
  return drifted ? `<span class="badge bad">drift</span>` : `<span class="badge good">ok</span>`;
}

function violationsTable(result: DriftResult): string {
  if (result.violations.length === 0) return "<h2>Constraint violations</h2><p>None.</p>";
  return `<h2>Constraint violations</h2><table><thead><tr><th>feature</th><th>check</th><th>description</th></tr></thead><tbody>
${result.violations.map((v) => `<tr class="bad"><td>${esc(v.feature_name)}</td><td><code>${v.constraint_check_type}</code></td><td>${esc(v.description)}</td></tr>`).join("\n")}
</tbody></table>`;
}

function devicesTable(devices: DeviceSummary[] | undefined): string {
  if (devices === undefined || devices.length === 0) return "";
  const sorted = [...devices].sort(
    (a, b) => b.drifted.length - a.drifted.length || (b.maxDistance ?? 0) - (a.maxDistance ?? 0),
  );
  return `<h2>Devices</h2><table><thead><tr><th>device</th><th>records</th><th>max distance</th><th>drifted features</th></tr></thead><tbody>
${sorted.map((d) => `<tr class="${d.drifted.length > 0 ? "bad" : "good"}"><td>${esc(d.device)}</td><td>${d.records}</td><td>${num(d.maxDistance)}</td><td>${d.drifted.length === 0 ? "–" : esc(d.drifted.join(", "))}</td></tr>`).join("\n")}
</tbody></table>`;
}

function quarantineTable(entries: QuarantineEntry[], total: number): string {
  if (total === 0) return "";
  if (entries.length === 0) {
    return `<h2>Quarantined records</h2><p>${total} record(s) could not be read and were skipped; each capture file's list is under <code>quarantine/</code> beside its profile.</p>`;
  }
  const shown = entries.slice(0, 20);
  return `<h2>Quarantined records</h2><p>${total} record(s) could not be read and were skipped${shown.length < total ? `; first ${shown.length} shown` : ""}.</p>
<table><thead><tr><th>file</th><th>line</th><th>reason</th></tr></thead><tbody>
${shown.map((q) => `<tr><td>${esc(q.file)}</td><td>${q.line}</td><td>${esc(q.reason)}</td></tr>`).join("\n")}
</tbody></table>`;
}
