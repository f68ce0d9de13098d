import { ProfileFormatError } from "./errors.ts";
import type { CaptureRecord, QuarantineEntry, TensorKind } from "./record.ts";
import { type CategoricalJson, CategoricalStats, type NumericJson, NumericStats } from "./stats.ts";

/** `missing` (records without this feature) is derived on write for readers; merging recomputes it. */
export type FeatureJson = { name: string; kind: TensorKind; missing?: number } & (
  | NumericJson
  | CategoricalJson
);

export interface GroupJson {
  model: string;
  fleet: string;
  device: string;
  /** Records in the group: the denominator for completeness (missing = records − present − nonFinite). */
  records: number;
  modelVersions: Record<string, number>;
  firstInferenceTime: string | null;
  lastInferenceTime: string | null;
  features: FeatureJson[];
}

export interface RecordCounts {
  total: number;
  valid: number;
  quarantined: number;
}

/** What analyze-capture writes per file and aggregate-drift merges: counts plus per-device groups. */
export interface ProfileJson {
  version: 1;
  sources: string[];
  records: RecordCounts;
  groups: GroupJson[];
}

export type FeatureStats = { name: string; kind: TensorKind; stats: NumericStats | CategoricalStats };

/** Feature name of element i of tensor T, as the issue and the example baseline spell it. */
export const elementName = (tensor: string, i: number) => `${tensor}_${i}`;
export const argmaxName = (tensor: string) => `${tensor}_argmax`;

/** Per-tensor accumulator: one NumericStats per element, plus the argmax category for output vectors. */
class TensorStats {
  readonly elements: NumericStats[] = [];
  argmax: CategoricalStats | undefined;

  constructor(
    readonly kind: TensorKind,
    readonly name: string,
  ) {}

  add(values: ArrayLike<number>): void {
    const n = values.length;
    const els = this.elements;
    while (els.length < n) els.push(new NumericStats());
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    let finite = true;
    for (let i = 0; i < n; i++) {
      const x = values[i] as number;
      (els[i] as NumericStats).add(x);
      if (x - x !== 0) finite = false;
      else if (x > bestValue) {
        bestValue = x;
        best = i;
      }
    }
    if (this.kind === "output" && n > 1) {
      this.argmax ??= new CategoricalStats();
      if (finite) this.argmax.addIndex(best);
      else this.argmax.addNonFinite();
    }
  }
}

/** Profile of one (model, fleet, device) group. */
export class GroupProfile {
  records = 0;
  readonly modelVersions = new Map<string, number>();
  firstInferenceTime: string | null = null;
  lastInferenceTime: string | null = null;
  private readonly tensors = new Map<string, TensorStats>();
  /** Features restored from JSON or merged in; kept apart from the live tensor accumulators. */
  private readonly extra = new Map<string, FeatureStats>();

  constructor(
    readonly model: string,
    readonly fleet: string,
    readonly device: string,
  ) {}

  add(r: CaptureRecord): void {
    this.records++;
    const v = r.modelVersion ?? "";
    this.modelVersions.set(v, (this.modelVersions.get(v) ?? 0) + 1);
    const t = r.inferenceTime;
    if (t !== undefined) {
      if (this.firstInferenceTime === null || t < this.firstInferenceTime) this.firstInferenceTime = t;
      if (this.lastInferenceTime === null || t > this.lastInferenceTime) this.lastInferenceTime = t;
    }
    for (const tensor of r.tensors) {
      const key = tensor.kind === "input" ? tensor.name : `\u0000${tensor.name}`;
      let acc = this.tensors.get(key);
      if (acc === undefined) {
        acc = new TensorStats(tensor.kind, tensor.name);
        this.tensors.set(key, acc);
      }
      acc.add(tensor.values);
    }
  }

  /** Features in a stable order: inputs before outputs, elements in index order, argmax after its tensor. */
  features(): FeatureStats[] {
    const out: FeatureStats[] = [];
    const live = [...this.tensors.values()].sort((a, b) =>
      a.kind === b.kind ? 0 : a.kind === "input" ? -1 : 1,
    );
    for (const t of live) {
      t.elements.forEach((stats, i) => {
        out.push({ name: elementName(t.name, i), kind: t.kind, stats });
      });
      if (t.argmax !== undefined) out.push({ name: argmaxName(t.name), kind: t.kind, stats: t.argmax });
    }
    for (const f of this.extra.values()) {
      const i = out.findIndex((o) => o.name === f.name && o.kind === f.kind);
      if (i >= 0)
        out[i] = { ...f, stats: mergeStats(cloneStats(f.stats), out[i]?.stats as FeatureStats["stats"]) };
      else out.push(f);
    }
    return out;
  }

  merge(o: GroupProfile): this {
    this.records += o.records;
    for (const [v, c] of o.modelVersions) this.modelVersions.set(v, (this.modelVersions.get(v) ?? 0) + c);
    if (
      o.firstInferenceTime !== null &&
      (this.firstInferenceTime === null || o.firstInferenceTime < this.firstInferenceTime)
    )
      this.firstInferenceTime = o.firstInferenceTime;
    if (
      o.lastInferenceTime !== null &&
      (this.lastInferenceTime === null || o.lastInferenceTime > this.lastInferenceTime)
    )
      this.lastInferenceTime = o.lastInferenceTime;
    const mine = new Map(this.features().map((f) => [`${f.kind}/${f.name}`, f]));
    this.tensors.clear();
    this.extra.clear();
    for (const f of o.features()) {
      const k = `${f.kind}/${f.name}`;
      const m = mine.get(k);
      mine.set(
        k,
        m === undefined
          ? { ...f, stats: cloneStats(f.stats) }
          : { ...m, stats: mergeStats(m.stats, f.stats) },
      );
    }
    for (const [k, f] of mine) this.extra.set(k, f);
    return this;
  }

  toJSON(): GroupJson {
    return {
      model: this.model,
      fleet: this.fleet,
      device: this.device,
      records: this.records,
      modelVersions: Object.fromEntries(this.modelVersions),
      firstInferenceTime: this.firstInferenceTime,
      lastInferenceTime: this.lastInferenceTime,
      features: this.features().map((f) => ({
        name: f.name,
        kind: f.kind,
        missing: Math.max(0, this.records - f.stats.present - f.stats.nonFinite),
        ...f.stats.toJSON(),
      })),
    };
  }

  static fromJSON(j: GroupJson): GroupProfile {
    if (typeof j?.model !== "string" || !Array.isArray(j.features))
      throw new ProfileFormatError("profile group lacks model or features");
    const g = new GroupProfile(j.model, j.fleet, j.device);
    g.records = j.records;
    for (const [v, c] of Object.entries(j.modelVersions ?? {})) g.modelVersions.set(v, c);
    g.firstInferenceTime = j.firstInferenceTime ?? null;
    g.lastInferenceTime = j.lastInferenceTime ?? null;
    for (const f of j.features) {
      const stats = f.type === "numeric" ? NumericStats.fromJSON(f) : CategoricalStats.fromJSON(f);
      g.extra.set(`${f.kind}/${f.name}`, { name: f.name, kind: f.kind, stats });
    }
    return g;
  }
}

function cloneStats(s: NumericStats | CategoricalStats): NumericStats | CategoricalStats {
  return s instanceof NumericStats
    ? NumericStats.fromJSON(s.toJSON())
    : CategoricalStats.fromJSON(s.toJSON());
}

function mergeStats(
  a: NumericStats | CategoricalStats,
  b: NumericStats | CategoricalStats,
): NumericStats | CategoricalStats {
  if (a instanceof NumericStats && b instanceof NumericStats) return a.merge(b);
  if (a instanceof CategoricalStats && b instanceof CategoricalStats) return a.merge(b);
  throw new ProfileFormatError("cannot merge a numeric feature with a categorical one of the same name");
}

/**
 * Profile of any number of capture records: per-(model, fleet, device) groups, counts, and the
 * first quarantined entries. Serializes to JSON and merges associatively.
 * @example const p = new Profile(); await readCapture(stream, key, p.consumer()); JSON.stringify(p);
 */
export class Profile {
  readonly records: RecordCounts = { total: 0, valid: 0, quarantined: 0 };
  readonly sources: string[] = [];
  private readonly groups = new Map<string, GroupProfile>();
  private last: GroupProfile | undefined;

  add(r: CaptureRecord): void {
    const last = this.last;
    let g: GroupProfile | undefined;
    // Records of one file almost always share a group; skip the key build and lookup then.
    if (last !== undefined && last.device === r.device && last.model === r.model && last.fleet === r.fleet)
      g = last;
    else {
      const key = `${r.model}\u0000${r.fleet}\u0000${r.device}`;
      g = this.groups.get(key);
      if (g === undefined) {
        g = new GroupProfile(r.model, r.fleet, r.device);
        this.groups.set(key, g);
      }
      this.last = g;
    }
    g.add(r);
  }

  /** A reader consumer that profiles valid records and hands quarantined ones to `onQuarantine`. */
  consumer(onQuarantine: (q: QuarantineEntry) => void = () => {}) {
    return { record: (r: CaptureRecord) => this.add(r), quarantine: onQuarantine };
  }

  addCounts(c: RecordCounts): void {
    this.records.total += c.total;
    this.records.valid += c.valid;
    this.records.quarantined += c.quarantined;
  }

  groupList(): GroupProfile[] {
    return [...this.groups.values()];
  }

  merge(o: Profile): this {
    this.addCounts(o.records);
    this.sources.push(...o.sources);
    for (const g of o.groups.values()) {
      const key = `${g.model}\u0000${g.fleet}\u0000${g.device}`;
      const mine = this.groups.get(key);
      if (mine === undefined) this.groups.set(key, GroupProfile.fromJSON(g.toJSON()));
      else mine.merge(g);
    }
    this.last = undefined;
    return this;
  }

  /** All groups folded into one, labelled with `label` where groups differ (e.g. fleet "*"). */
  rollup(filter: (g: GroupProfile) => boolean = () => true): GroupProfile | undefined {
    const picked = this.groupList().filter(filter);
    if (picked.length === 0) return undefined;
    const same = (f: (g: GroupProfile) => string) =>
      picked.every((g) => f(g) === f(picked[0] as GroupProfile)) ? f(picked[0] as GroupProfile) : "*";
    const out = new GroupProfile(
      same((g) => g.model),
      same((g) => g.fleet),
      same((g) => g.device),
    );
    for (const g of picked) out.merge(g);
    return out;
  }

  toJSON(): ProfileJson {
    return {
      version: 1,
      sources: this.sources,
      records: { ...this.records },
      groups: this.groupList().map((g) => g.toJSON()),
    };
  }

  static fromJSON(json: unknown): Profile {
    const j = json as Partial<ProfileJson>;
    if (j?.version !== 1 || !Array.isArray(j.groups) || typeof j.records !== "object") {
      throw new ProfileFormatError("not an edge-mlops drift profile (version 1)");
    }
    const p = new Profile();
    p.addCounts(j.records);
    p.sources.push(...(j.sources ?? []));
    for (const g of j.groups) {
      const gp = GroupProfile.fromJSON(g);
      p.groups.set(`${gp.model}\u0000${gp.fleet}\u0000${gp.device}`, gp);
    }
    return p;
  }
}
