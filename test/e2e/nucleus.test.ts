import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { c as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstalledSet, SimulatedDevice } from "../../local/fleet/device.ts";
import { resolveComponentSet } from "../../local/fleet/resolve.ts";
import type {
  ComponentRecipe,
  DeploymentDocument,
  InstalledComponent,
  NucleusCloud,
} from "../../local/fleet/types.ts";

// The nucleus logic on its own: an in-memory cloud and S3, a host that records what it starts.
const RUNTIME = "com.edgemlops.InferenceRuntime";
const MODEL = "com.edgemlops.models.ExampleClassifier";

let dir: string;
const objects = new Map<string, Buffer>();
const sha = (b: Buffer) => createHash("sha256").update(b).digest("base64");

const runtimeRecipe = (version: string): ComponentRecipe => ({
  RecipeFormatVersion: "2020-01-25",
  ComponentName: RUNTIME,
  ComponentVersion: version,
  Manifests: [
    {
      Platform: { os: "linux" },
      Artifacts: [
        {
          Uri: "s3://artifacts/runtime/index.mjs",
          Digest: sha(objects.get("artifacts/runtime/index.mjs") as Buffer),
          Algorithm: "SHA-256",
        },
      ],
    },
  ],
});
const modelRecipe = (version: string, digest?: string): ComponentRecipe => ({
  RecipeFormatVersion: "2020-01-25",
  ComponentName: MODEL,
  ComponentVersion: version,
  ComponentDependencies: { [RUNTIME]: { VersionRequirement: ">=1.0.0 <2.0.0", DependencyType: "HARD" } },
  Manifests: [
    { Platform: { os: "windows" }, Artifacts: [{ Uri: "s3://artifacts/wrong.tar.gz" }] },
    {
      Platform: { os: "linux", architecture: "*" },
      Artifacts: [
        {
          Uri: `s3://artifacts/model-${version}.tar.gz`,
          Digest: digest ?? sha(objects.get(`artifacts/model-${version}.tar.gz`) as Buffer),
        },
      ],
    },
  ],
});

class FakeCloud implements NucleusCloud {
  deployments: DeploymentDocument[] = [];
  recipes = new Map<string, ComponentRecipe>();
  reports: Array<{ deploymentId: string; status: string; reason?: string }> = [];
  installed: InstalledComponent[] = [];
  async registerDevice() {}
  async deploymentsFor() {
    return this.deployments;
  }
  async getRecipe(name: string, version: string) {
    const r = this.recipes.get(`${name}@${version}`);
    if (!r) throw new Error(`no recipe ${name}@${version}`);
    return r;
  }
  async listVersions(name: string) {
    return [...this.recipes.values()].filter((r) => r.ComponentName === name).map((r) => r.ComponentVersion);
  }
  async reportDeployment(_thing: string, d: DeploymentDocument, status: string, reason?: string) {
    this.reports.push({ deploymentId: d.deploymentId, status, ...(reason ? { reason } : {}) });
  }
  async reportInstalledComponents(_thing: string, list: InstalledComponent[]) {
    this.installed = list;
  }
  add(r: ComponentRecipe) {
    this.recipes.set(`${r.ComponentName}@${r.ComponentVersion}`, r);
  }
}

const gets: string[] = [];
const s3 = {
  async send(cmd: { input: { Bucket: string; Key: string } }) {
    const key = `${cmd.input.Bucket}/${cmd.input.Key}`;
    gets.push(key);
    const body = objects.get(key);
    if (!body) throw Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey" });
    return { Body: { transformToByteArray: async () => new Uint8Array(body) } };
  },
} as unknown as S3Client;

const started: InstalledSet[] = [];
const host = {
  async start(set: InstalledSet) {
    started.push(set);
    return { running: [RUNTIME], close: async () => {} };
  },
};

const deployment = (id: string, version: string, at: number): DeploymentDocument => ({
  deploymentId: id,
  targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/canary",
  components: { [MODEL]: { componentVersion: version } },
  failureHandlingPolicy: "ROLLBACK",
  createdAt: at,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nucleus-"));
  for (const v of ["1.0.0", "2.0.0"]) {
    const src = join(dir, `src-${v}`);
    await rm(src, { recursive: true, force: true });
    await mkdir(src, { recursive: true });
    await writeFile(join(src, "model.onnx"), `onnx ${v}`);
    await createTar({ gzip: true, file: join(dir, `model-${v}.tar.gz`), cwd: src }, ["model.onnx"]);
    objects.set(`artifacts/model-${v}.tar.gz`, await readFile(join(dir, `model-${v}.tar.gz`)));
  }
  objects.set("artifacts/runtime/index.mjs", Buffer.from("export {}"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("nucleus", () => {
  it("resolves the highest runtime that satisfies the model's requirement, and refuses conflicts", async () => {
    const cloud = new FakeCloud();
    for (const v of ["1.0.0", "1.4.2", "2.0.0"]) cloud.add(runtimeRecipe(v));
    cloud.add(modelRecipe("1.0.0"));
    const set = await resolveComponentSet([deployment("d1", "1.0.0", 1)], cloud);
    expect(set.map((c) => `${c.name}@${c.version}:${c.isRoot}`).sort()).toEqual(
      [`${RUNTIME}@1.4.2:false`, `${MODEL}@1.0.0:true`].sort(),
    );
    // Installed 1.0.0 still satisfies the requirement, so the nucleus keeps it.
    const kept = await resolveComponentSet(
      [deployment("d1", "1.0.0", 1)],
      cloud,
      new Map([[RUNTIME, "1.0.0"]]),
    );
    expect(kept.find((c) => c.name === RUNTIME)?.version).toBe("1.0.0");
    const pinned = {
      ...deployment("d2", "1.0.0", 2),
      targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/fleet",
      components: { [RUNTIME]: { componentVersion: "2.0.0" } },
    };
    await expect(resolveComponentSet([deployment("d1", "1.0.0", 1), pinned], cloud)).rejects.toThrow(
      /does not satisfy >=1.0.0 <2.0.0/,
    );
  });

  it("installs, verifies, unpacks and reports; an injected failure rolls back; a bad digest fails", async () => {
    const cloud = new FakeCloud();
    cloud.add(runtimeRecipe("1.0.0"));
    cloud.add(modelRecipe("1.0.0"));
    cloud.add(modelRecipe("2.0.0"));
    const device = new SimulatedDevice({
      thingName: "edge-device-001",
      thingGroupNames: ["canary"],
      cloud,
      s3,
      rootPath: join(dir, "dev1"),
      host,
    });
    cloud.deployments = [deployment("d1", "1.0.0", 1)];
    await device.poll();
    expect(cloud.reports).toEqual([
      { deploymentId: "d1", status: "IN_PROGRESS" },
      { deploymentId: "d1", status: "SUCCEEDED" },
    ]);
    expect(gets).toEqual(
      expect.arrayContaining(["artifacts/model-1.0.0.tar.gz", "artifacts/runtime/index.mjs"]),
    );
    expect(gets).not.toContain("artifacts/wrong.tar.gz");
    const model = started.at(-1)?.components.find((c) => c.name === MODEL);
    expect(await readFile(join(model?.decompressedPath as string, "model-1.0.0", "model.onnx"), "utf8")).toBe(
      "onnx 1.0.0",
    );
    expect(cloud.installed).toEqual(
      expect.arrayContaining([
        { componentName: MODEL, componentVersion: "1.0.0", lifecycleState: "FINISHED", isRoot: true },
        { componentName: RUNTIME, componentVersion: "1.0.0", lifecycleState: "RUNNING", isRoot: false },
      ]),
    );
    // The same deployment seen again is not applied twice.
    await device.poll();
    expect(cloud.reports).toHaveLength(2);

    device.knobs = { failInstall: [{ componentName: MODEL, versions: ["2.0.0"] }] };
    cloud.deployments = [deployment("d2", "2.0.0", 2)];
    await device.poll();
    expect(cloud.reports.slice(2)).toEqual([
      { deploymentId: "d2", status: "IN_PROGRESS" },
      { deploymentId: "d2", status: "FAILED", reason: `${MODEL}@2.0.0: install failed (injected failure)` },
    ]);
    expect(device.components().get(MODEL)).toBe("1.0.0");
    expect(device.history.at(-1)).toMatchObject({ deploymentId: "d2", status: "FAILED", rolledBack: true });
    expect(cloud.installed.find((c) => c.componentName === MODEL)?.componentVersion).toBe("1.0.0");

    device.knobs = {};
    cloud.add(modelRecipe("2.0.1", sha(Buffer.from("something else"))));
    objects.set("artifacts/model-2.0.1.tar.gz", objects.get("artifacts/model-2.0.0.tar.gz") as Buffer);
    cloud.deployments = [deployment("d3", "2.0.1", 3)];
    await device.poll();
    expect(cloud.reports.at(-1)).toMatchObject({
      deploymentId: "d3",
      status: "FAILED",
      reason: expect.stringMatching(/does not match its recipe digest/),
    });
    expect(device.components().get(MODEL)).toBe("1.0.0");
  });
});
