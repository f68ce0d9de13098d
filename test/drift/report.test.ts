import { describe, expect, it } from "vitest";
import { constraintsJson, readBaseline, statisticsJson } from "../../functions/drift/baseline.ts";
import {
  categoriesSvg,
  cdfData,
  histogramData,
  largestGap,
  slimSvg,
  unionRange,
} from "../../functions/drift/charts.ts";
import { compareToBaseline } from "../../functions/drift/compare.ts";
import { sampleOf } from "../../functions/drift/kll.ts";
import { GroupProfile, Profile } from "../../functions/drift/profile.ts";
import {
  type DeviceSummary,
  deviceBreakdown,
  orderFeatures,
  renderReport,
} from "../../functions/drift/report.ts";
import { gaussian, rng } from "./generate.ts";

// A tensor name straight from capture data: it must come out as text, never as markup.
const EVIL = `<img src=x onerror="alert(1)">&`;

/** `n` records with tensors "input" (3 normals, element 1 shifted by `shift`) and EVIL (1 value). */
function group(n: number, seed: number, shift: number): GroupProfile {
  const g = new GroupProfile("classifier", "fleet-a", "*");
  const z = gaussian(rng(seed));
  for (let i = 0; i < n; i++) {
    g.add({
      fleet: "fleet-a",
      device: "device-1",
      model: "classifier",
      modelVersion: "1",
      inferenceTime: undefined,
      tensors: [
        { kind: "input", name: "input", values: [z(), z() + shift, z()] },
        { kind: "output", name: EVIL, values: [z()] },
      ],
    });
  }
  return g;
}

async function report(
  shift: number,
  devices?: DeviceSummary[],
  deviceProfiles?: ReadonlyMap<string, GroupProfile>,
) {
  const train = group(4000, 1, 0);
  const baseline = readBaseline(
    JSON.parse(JSON.stringify(statisticsJson(train.features(), train.records))),
    JSON.parse(JSON.stringify(constraintsJson(train.features(), train.records))),
  );
  const current = group(3000, 2, shift);
  const result = compareToBaseline(baseline, current, { total: 3000, valid: 3000, quarantined: 0 });
  const html = await renderReport({
    result,
    baseline,
    current,
    window: "2026-11-24 10:00–11:00 UTC",
    devices,
    deviceProfiles,
  });
  return { result, html };
}

/** The features' section ids and headings, in page order. */
const sections = (html: string) =>
  [...html.matchAll(/<section class="feature (bad|warn|good)" id="([^"]+)">\n<h3>([^<]*)/g)].map((m) => ({
    verdict: m[1],
    id: m[2],
    name: m[3]?.trim(),
  }));

describe("drift HTML report", () => {
  it("is one self-contained page: no scripts, no URLs, no external resources, inline SVG charts", async () => {
    const { html } = await report(1);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\/|@import|url\(|xmlns|xlink/i);
    // No element that loads or runs anything (attribute values are escaped text, so look at tag names).
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed|image|use|foreignObject|audio|video)\b/i);
    // 4 numeric features × (histogram + CDF).
    expect(html.match(/<svg role="img"/g)).toHaveLength(8);
    expect(html).toContain('aria-label="Histogram of input_1: baseline vs current"');
    // 8 charts stay small: vega's ARIA/class noise is stripped, coordinates rounded.
    expect(html.length).toBeLessThan(90_000);
  });

  it("has a section per feature with distance, threshold and verdict; drifted features first", async () => {
    const { result, html } = await report(1);
    const drifted = result.features.filter((f) => f.drifted).map((f) => f.name);
    expect(drifted).toEqual(["input_1"]);
    expect(result.drifted).toBe(true);
    expect(html).toContain("Drift detected in 1 of 4 features");

    const s = sections(html);
    expect(s.map((x) => x.name)).toHaveLength(4);
    expect(s[0]).toMatchObject({ name: "input_1", verdict: "bad" });
    expect(s.slice(1).every((x) => x.verdict === "good")).toBe(true);

    const f1 = result.features.find((f) => f.name === "input_1");
    const sec = html.slice(html.indexOf(`id="${s[0]?.id}"`));
    expect(sec).toMatch(
      new RegExp(
        `Robust distance <b>${f1?.distance?.toFixed(3)}</b> &gt; threshold ${f1?.threshold.toFixed(3)}`,
      ),
    );
    expect(sec.slice(0, sec.indexOf("</section>"))).toContain('<span class="badge bad">DRIFT</span>');

    // Summary table: same order, each row links to its section.
    const rows = [...html.matchAll(/<tr class="(bad|good)"><td><a href="#([^"]+)">/g)].map((m) => m[2]);
    expect(rows.slice(0, 4)).toEqual(s.map((x) => x.id));
  });

  it("escapes feature names everywhere: headings, table, chart labels, violations", async () => {
    const { html } = await report(1);
    const escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;_0";
    expect(html).not.toContain("<img");
    expect(html).not.toContain('onerror="');
    expect(html).toContain(`<h3>${escaped} `);
    expect(html).toContain(`>${escaped}</a></td>`);
    expect(html).toContain(`aria-label="Histogram of ${escaped}: baseline vs current"`);
    // Anchors are reduced to a safe alphabet.
    for (const m of html.matchAll(/id="([^"]+)"/g)) expect(m[1]).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("does not call a fleet clean when devices drift: amber verdict naming the features", async () => {
    const { html } = await report(0, [
      { device: "dev-1", records: 100, drifted: ["input_2"], maxDistance: 0.3 },
      { device: "dev-2", records: 100, drifted: [], maxDistance: 0.01 },
    ]);
    expect(html).toContain(
      '<p class="verdict warn">No fleet-level drift, but 1 of 2 devices drift (input_2)</p>',
    );
    expect(html).not.toContain("No drift: all");
  });

  it("says so when nothing drifts", async () => {
    const { result, html } = await report(0);
    expect(result.features.some((f) => f.drifted)).toBe(false);
    expect(html).toContain("No drift: all 4 features within thresholds");
    expect(html).not.toContain('class="feature bad"');
    expect(html).toMatch(/Robust distance <b>[0-9.]+<\/b> ≤ threshold 0\.100/);
  });

  it("shows fleet vs devices: a grid of the features that drift anywhere, most drifted devices first", async () => {
    const { html } = await report(1, [
      { device: "dev-2", records: 10, drifted: [], maxDistance: 0.01 },
      { device: `dev-<b>`, records: 1500, drifted: ["input_1", "input_2"], maxDistance: 0.4 },
      {
        device: "dev-10",
        records: 1490,
        drifted: ["input_1"],
        maxDistance: 0.3,
        distances: { input_1: 0.3 },
      },
    ]);
    expect(html).toContain("devices drifted<b>2 / 3</b>");
    const grid = html.slice(
      html.indexOf('<table class="grid">'),
      html.indexOf("</table>", html.indexOf('class="grid"')),
    );
    const header = [...grid.matchAll(/<th class="dev">([^<]*)<\/th>/g)].map((m) => m[1]);
    expect(header).toEqual(["dev-&lt;b&gt;", "dev-10", "dev-2"]);
    // input_1 drifts on the fleet, input_2 only on one device; input_0 and the output nowhere.
    const rowNames = [...grid.matchAll(/<td class="f"><a [^>]*>([^<]*)<\/a>/g)].map((m) => m[1]);
    expect(rowNames).toEqual(["input_1", "input_2"]);
    expect(grid).toMatch(
      /input_1<\/a><\/td><td class="x">[0-9.]+<\/td><td class="x">●<\/td><td class="x">0\.300<\/td><td class="o">·<\/td>/,
    );
    expect(html).toContain("2 of 4 features drift on the fleet or on at least one device");
    // input_2 is fine on the fleet but drifts on one device: its own state, listed right after input_1.
    expect(sections(html).map((x) => [x.name, x.verdict])).toEqual([
      ["input_1", "bad"],
      ["input_2", "warn"],
      [expect.stringContaining("onerror"), "good"],
      ["input_0", "good"],
    ]);
    expect(html).toContain("Per device: drifts on 1 of 3 (dev-&lt;b&gt;)");
    expect(html).toContain("Drift detected in 1 of 4 features; 2 of 3 devices drift on their own");
    expect(html).toMatch(
      /<tr class="warn"><td><a [^>]*>input_2<\/a>.*<td class="n">1 \/ 3<\/td><td><span class="badge warn">/,
    );
  });

  it("adds a per-device CDF to features that drift on some devices when device profiles are given", async () => {
    const devA = group(500, 7, 1.5);
    const devB = group(500, 8, 0);
    const devices: DeviceSummary[] = [
      { device: "dev-b", records: 500, drifted: [], maxDistance: 0.01 },
      { device: "dev-<a>", records: 500, drifted: ["input_1"], maxDistance: 0.5 },
    ];
    const { html } = await report(1, devices);
    const { html: withProfiles } = await report(
      1,
      devices,
      new Map([
        ["dev-<a>", devA],
        ["dev-b", devB],
      ]),
    );
    // Without profiles: two charts per numeric feature, as before.
    expect(html.match(/<svg role="img"/g)).toHaveLength(8);
    expect(withProfiles.match(/<svg role="img"/g)).toHaveLength(9);
    const s0 = sections(withProfiles)[0];
    expect(s0?.name).toBe("input_1");
    const sec = withProfiles.slice(
      withProfiles.indexOf(`id="${s0?.id}"`),
      withProfiles.indexOf("</section>"),
    );
    expect(sec).toContain('aria-label="Cumulative distribution of input_1 on the devices where it drifts"');
    // Only the device where input_1 drifts is drawn, its name escaped in the legend.
    expect(sec).toMatch(/Devices where it drifts .*dev-&lt;a&gt;<\/span>/);
    expect(sec).not.toContain("dev-b");
  });

  it("deviceBreakdown compares each device on its own and feeds the grid with distances", async () => {
    const train = group(4000, 1, 0);
    const baseline = readBaseline(
      JSON.parse(JSON.stringify(statisticsJson(train.features(), train.records))),
      JSON.parse(JSON.stringify(constraintsJson(train.features(), train.records))),
    );
    const profile = new Profile();
    const z = gaussian(rng(5));
    for (const [device, shift] of [
      ["dev-10", 0],
      ["dev-2", 1.5],
      ["dev-1", 0],
    ] as const) {
      for (let i = 0; i < 600; i++) {
        profile.add({
          fleet: "fleet-a",
          device,
          model: "classifier",
          modelVersion: "1",
          inferenceTime: undefined,
          tensors: [{ kind: "input", name: "input", values: [z(), z() + shift, z()] }],
        });
      }
    }
    const { devices, deviceProfiles } = deviceBreakdown(baseline, profile);
    expect(devices.map((d) => [d.device, d.records, d.drifted])).toEqual([
      ["dev-1", 600, []],
      ["dev-2", 600, ["input_1"]],
      ["dev-10", 600, []],
    ]);
    expect(devices[1]?.distances?.input_1).toBe(devices[1]?.maxDistance);
    expect(devices[1]?.maxDistance).toBeGreaterThan(0.3);
    expect([...deviceProfiles.keys()]).toEqual(["dev-1", "dev-2", "dev-10"]);

    const current = profile.rollup() as GroupProfile;
    const result = compareToBaseline(baseline, current, { total: 1800, valid: 1800, quarantined: 0 });
    const html = await renderReport({ result, baseline, current, devices, deviceProfiles });
    const grid = html.slice(
      html.indexOf('<table class="grid">'),
      html.indexOf("</table>", html.indexOf('class="grid"')),
    );
    expect(grid).toContain(`<td class="x">${devices[1]?.maxDistance?.toFixed(3)}</td>`);
    expect(html).toContain('aria-label="Cumulative distribution of input_1 on the devices where it drifts"');

    // One device: its own entry (for drift.json and metrics); the report hides the grid for it.
    const single = new Profile();
    single.add({
      fleet: "f",
      device: "only",
      model: "m",
      modelVersion: undefined,
      inferenceTime: undefined,
      tensors: [{ kind: "input", name: "input", values: [0, 0, 0] }],
    });
    const one = deviceBreakdown(baseline, single);
    expect(one.devices).toEqual([
      expect.objectContaining({ device: "only", records: 1, violations: expect.any(Number) }),
    ]);
    const singleHtml = await renderReport({
      result: compareToBaseline(baseline, single.rollup(() => true) as GroupProfile, {
        total: 1,
        valid: 1,
        quarantined: 0,
      }),
      baseline,
      current: single.rollup(() => true) as GroupProfile,
      ...one,
    });
    expect(singleHtml).not.toContain("Fleet and devices");
  });

  it("orders ties by name with numbers in numeric order", () => {
    const f = (name: string, drifted: boolean, distance: number) =>
      ({ name, drifted, distance, method: "Robust" }) as Parameters<typeof orderFeatures>[0][number];
    expect(
      orderFeatures([
        f("input_10", false, 0),
        f("input_2", false, 0),
        f("a", true, 0.2),
        f("b", true, 0.5),
      ]).map((x) => x.name),
    ).toEqual(["b", "a", "input_2", "input_10"]);
  });
});

describe("charts", () => {
  const s = (xs: number[]) => sampleOf(Float64Array.from(xs));

  it("histogram shares per series sum to 1 over the union range", () => {
    const rows = histogramData(s([0, 1, 2, 3]), s([2, 3, 4, 5]), 5);
    for (const series of ["baseline", "current"]) {
      const total = rows.filter((r) => r.series === series).reduce((a, r) => a + r.share, 0);
      expect(total).toBeCloseTo(1, 9);
    }
    expect(rows[0]?.start).toBe(0);
    expect(rows[4]?.end).toBe(5);
  });

  it("one extreme value does not squash the axes: it is counted in the outermost bin", () => {
    const base = s(Array.from({ length: 2000 }, (_, i) => i / 100));
    const cur = s([...Array.from({ length: 1999 }, (_, i) => i / 100), 1e6]);
    const [lo, hi] = unionRange(base, cur);
    // The 0.1% quantile: the second smallest of 2000 values.
    expect(lo).toBe(0.01);
    expect(hi).toBeLessThan(20);
    const rows = histogramData(base, cur).filter((r) => r.series === "current");
    expect(rows.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 9);
    expect(rows[rows.length - 1]?.end).toBe(hi);
    expect(rows[rows.length - 1]?.share).toBeGreaterThan(1 / 2000);
    const cdf = cdfData(base, cur).filter((r) => r.series === "current");
    expect(Math.max(...cdf.map((r) => r.value))).toBe(hi);
    expect(cdf[0]).toEqual({ series: "current", value: 0.01, cdf: 2 / 2000 });
  });

  it("largestGap is where the CDFs are furthest apart", () => {
    const g = largestGap(s([0, 1, 2, 3]), s([2, 3, 4, 5]));
    expect(g).toMatchObject({ value: 1, baseline: 0.5, current: 0, gap: 0.5 });
  });

  it("slimSvg drops ARIA/class noise and rounds geometry, not label text", () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" class="marks"><g class="mark-text" role="graphics-object" aria-hidden="true"><path class="background" aria-hidden="true" d="M0,0h0v0h0Z"/><path d="M1.23456,2.5L3.14159,4" opacity="1"/><text transform="translate(10.555,2)" font-family="sans-serif">0.125</text></g></svg>`;
    expect(slimSvg(svg)).toBe(
      `<svg><g><path d="M1.2,2.5L3.1,4"/><text transform="translate(10.6,2)">0.125</text></g></svg>`,
    );
  });

  it("category labels from capture data come out escaped inside the SVG", async () => {
    const svg = await categoriesSvg(
      new Map([
        ["<script>x</script>", 3],
        ["a&b", 2],
      ]),
      new Map([["a&b", 1]]),
    );
    expect(svg).not.toContain("<script");
    expect(svg).toContain("&lt;script&gt;x&lt;/script&gt;");
    expect(svg).toContain(">a&amp;b</text>");
  });
});
