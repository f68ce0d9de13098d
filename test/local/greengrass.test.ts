import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CancelDeploymentCommand,
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
  GetComponentCommand,
  GetCoreDeviceCommand,
  GetDeploymentCommand,
  GreengrassV2Client,
  ListComponentsCommand,
  ListComponentVersionsCommand,
  ListCoreDevicesCommand,
  ListDeploymentsCommand,
  ListEffectiveDeploymentsCommand,
  ListInstalledComponentsCommand,
} from "@aws-sdk/client-greengrassv2";
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  IoTClient,
} from "@aws-sdk/client-iot";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalEndpoint, startLocalEndpoint } from "../../local/endpoint.ts";
import { greengrassStoreOf } from "../../local/greengrass/index.ts";
import type { GreengrassStore } from "../../local/greengrass/store.ts";
import { configureFlow, localResources } from "../../local/wiring.ts";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const account = "000000000000";
const groupArn = (name: string) => `arn:aws:iot:us-east-1:${account}:thinggroup/${name}`;
const componentArn = (name: string, version?: string) =>
  `arn:aws:greengrass:us-east-1:${account}:components:${name}${version ? `:versions:${version}` : ""}`;

let endpoint: LocalEndpoint;
let stateDir: string;
let gg: GreengrassV2Client;
let iot: IoTClient;
let s3: S3Client;
let store: GreengrassStore;
const model = Buffer.from("compiled model bytes");
const modelDigest = createHash("sha256").update(model).digest("base64");

function recipe(name: string, version: string, artifacts: object[] = []) {
  return Buffer.from(
    JSON.stringify({
      RecipeFormatVersion: "2020-01-25",
      ComponentName: name,
      ComponentVersion: version,
      ComponentPublisher: "edge-mlops",
      ComponentDescription: `${name} model`,
      Manifests: [{ Platform: { os: "linux", architecture: "amd64" }, Artifacts: artifacts, Lifecycle: {} }],
    }),
  );
}

async function settle(arn: string) {
  for (let i = 0; i < 200; i++) {
    const d = await gg.send(new DescribeComponentCommand({ arn }));
    const state = d.status?.componentState;
    if (state !== "REQUESTED" && state !== "INITIATED") return d;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`component ${arn} never settled`);
}

async function deployable(name: string, version: string) {
  const created = await gg.send(
    new CreateComponentVersionCommand({
      inlineRecipe: recipe(name, version, [
        {
          Uri: `s3://${localResources.artifactBucket}/models/m.onnx`,
          Digest: modelDigest,
          Algorithm: "SHA-256",
        },
      ]),
    }),
  );
  expect((await settle(created.arn as string)).status?.componentState).toBe("DEPLOYABLE");
  return created;
}

beforeAll(async () => {
  configureFlow({ autoSchedules: false });
  stateDir = mkdtempSync(join(tmpdir(), "gg-"));
  endpoint = await startLocalEndpoint({ port: 0, stateDir, timeScale: 0 });
  const config = { endpoint: endpoint.url, region: "us-east-1", credentials };
  gg = new GreengrassV2Client(config);
  iot = new IoTClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
  store = greengrassStoreOf(endpoint.url);
  await s3.send(
    new PutObjectCommand({ Bucket: localResources.artifactBucket, Key: "models/m.onnx", Body: model }),
  );
  for (const group of ["canary", "fleet"])
    await iot.send(new CreateThingGroupCommand({ thingGroupName: group }));
  for (const [thing, group] of [
    ["core-1", "canary"],
    ["core-2", "canary"],
    ["core-3", "fleet"],
  ] as const) {
    await iot.send(new CreateThingCommand({ thingName: thing }));
    await iot.send(new AddThingToThingGroupCommand({ thingName: thing, thingGroupName: group }));
    store.registerCoreDevice(thing, [group]);
  }
});

afterAll(async () => {
  await endpoint?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("Greengrass V2 components", () => {
  it("creates a version REQUESTED, moves it to DEPLOYABLE on the clock, and returns the recipe as sent", async () => {
    const inlineRecipe = recipe("com.example.Model", "1.0.0", [
      {
        Uri: `s3://${localResources.artifactBucket}/models/m.onnx`,
        Digest: modelDigest,
        Algorithm: "SHA-256",
      },
    ]);
    const created = await gg.send(new CreateComponentVersionCommand({ inlineRecipe, tags: { team: "ml" } }));
    expect(created).toMatchObject({
      arn: componentArn("com.example.Model", "1.0.0"),
      componentName: "com.example.Model",
      componentVersion: "1.0.0",
      status: { componentState: "REQUESTED" },
    });
    expect(created.creationTimestamp).toBeInstanceOf(Date);
    const described = await settle(created.arn as string);
    expect(described).toMatchObject({
      componentName: "com.example.Model",
      publisher: "edge-mlops",
      description: "com.example.Model model",
      status: { componentState: "DEPLOYABLE" },
      platforms: [{ attributes: { os: "linux", architecture: "amd64" } }],
      tags: { team: "ml" },
    });
    const got = await gg.send(new GetComponentCommand({ arn: created.arn }));
    expect(got.recipeOutputFormat).toBe("JSON");
    expect(Buffer.from(got.recipe as Uint8Array).equals(inlineRecipe)).toBe(true);
    const yaml = await gg.send(new GetComponentCommand({ arn: created.arn, recipeOutputFormat: "YAML" }));
    expect(Buffer.from(yaml.recipe as Uint8Array).toString()).toContain("ComponentName: com.example.Model");
  });

  it("accepts a YAML recipe and refuses a duplicate version with ConflictException", async () => {
    const yaml =
      "RecipeFormatVersion: '2020-01-25'\nComponentName: com.example.Yaml\nComponentVersion: 2.1.0-beta.1\nManifests:\n  - Platform:\n      os: linux\n";
    const created = await gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(yaml) }));
    expect((await settle(created.arn as string)).status?.componentState).toBe("DEPLOYABLE");
    await expect(
      gg.send(new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(yaml) })),
    ).rejects.toMatchObject({ name: "ConflictException", $metadata: { httpStatusCode: 409 } });
  });

  it.each([
    [
      "a version that is not semver",
      recipe("com.example.Bad", "1.0"),
      /ComponentVersion 1.0 is not a semantic version/,
    ],
    [
      "an unknown RecipeFormatVersion",
      Buffer.from(
        JSON.stringify({ RecipeFormatVersion: "2019-01-01", ComponentName: "a", ComponentVersion: "1.0.0" }),
      ),
      /RecipeFormatVersion/,
    ],
    [
      "no ComponentName",
      Buffer.from(JSON.stringify({ RecipeFormatVersion: "2020-01-25", ComponentVersion: "1.0.0" })),
      /ComponentName is required/,
    ],
    [
      "an artifact that is not a URI",
      recipe("com.example.Bad", "1.0.0", [{ Uri: "/tmp/model" }]),
      /Artifacts\[0\]\.Uri/,
    ],
    ["neither JSON nor YAML", Buffer.from("{ not json"), /neither valid JSON nor YAML/],
  ])("refuses %s with ValidationException", async (_what, inlineRecipe, message) => {
    const error = await gg.send(new CreateComponentVersionCommand({ inlineRecipe })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    expect((error as Error).message).toMatch(message);
  });

  it("ends FAILED with a message when an artifact is missing or its digest does not match", async () => {
    const missing = await gg.send(
      new CreateComponentVersionCommand({
        inlineRecipe: recipe("com.example.Missing", "1.0.0", [
          { Uri: `s3://${localResources.artifactBucket}/models/nope.onnx` },
        ]),
      }),
    );
    const m = await settle(missing.arn as string);
    expect(m.status).toMatchObject({ componentState: "FAILED" });
    expect(m.status?.message).toContain(
      `s3://${localResources.artifactBucket}/models/nope.onnx does not exist`,
    );
    const wrong = await gg.send(
      new CreateComponentVersionCommand({
        inlineRecipe: recipe("com.example.Wrong", "1.0.0", [
          {
            Uri: `s3://${localResources.artifactBucket}/models/m.onnx`,
            Digest: Buffer.alloc(32).toString("base64"),
          },
        ]),
      }),
    );
    const w = await settle(wrong.arn as string);
    expect(w.status?.componentState).toBe("FAILED");
    expect(w.status?.message).toContain("digest mismatch");
    // A FAILED version cannot be deployed.
    await expect(
      gg.send(
        new CreateDeploymentCommand({
          targetArn: groupArn("canary"),
          components: { "com.example.Wrong": { componentVersion: "1.0.0" } },
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("lists components with their latest version and versions newest first, with pagination", async () => {
    await deployable("com.example.Listed", "1.2.0");
    await deployable("com.example.Listed", "1.10.0");
    const versions = await gg.send(
      new ListComponentVersionsCommand({ arn: componentArn("com.example.Listed") }),
    );
    expect(versions.componentVersions?.map((v) => v.componentVersion)).toEqual(["1.10.0", "1.2.0"]);
    const first = await gg.send(
      new ListComponentVersionsCommand({ arn: componentArn("com.example.Listed"), maxResults: 1 }),
    );
    expect(first.componentVersions).toHaveLength(1);
    const second = await gg.send(
      new ListComponentVersionsCommand({
        arn: componentArn("com.example.Listed"),
        maxResults: 1,
        nextToken: first.nextToken,
      }),
    );
    expect(second.componentVersions?.[0]?.componentVersion).toBe("1.2.0");
    const list = await gg.send(new ListComponentsCommand({}));
    expect(
      list.components?.find((c) => c.componentName === "com.example.Listed")?.latestVersion?.componentVersion,
    ).toBe("1.10.0");
    await expect(
      gg.send(new ListComponentVersionsCommand({ arn: componentArn("com.example.Nope") })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException", $metadata: { httpStatusCode: 404 } });
  });
});

describe("Greengrass V2 deployments", () => {
  it("runs a deployment as an IoT job whose counts move as devices report", async () => {
    await deployable("com.example.Deployed", "1.0.0");
    const created = await gg.send(
      new CreateDeploymentCommand({
        targetArn: groupArn("canary"),
        deploymentName: "canary rollout",
        components: { "com.example.Deployed": { componentVersion: "1.0.0" } },
        deploymentPolicies: { failureHandlingPolicy: "ROLLBACK" },
        iotJobConfiguration: { jobExecutionsRolloutConfig: { maximumPerMinute: 10 } },
      }),
    );
    expect(created.iotJobArn).toBe(`arn:aws:iot:us-east-1:${account}:job/${created.iotJobId}`);
    const got = await gg.send(new GetDeploymentCommand({ deploymentId: created.deploymentId }));
    expect(got).toMatchObject({
      deploymentStatus: "ACTIVE",
      isLatestForTarget: true,
      iotJobId: created.iotJobId,
      revisionId: "1",
      components: { "com.example.Deployed": { componentVersion: "1.0.0" } },
      deploymentPolicies: { failureHandlingPolicy: "ROLLBACK" },
    });
    const job = async () =>
      (await iot.send(new DescribeJobCommand({ jobId: created.iotJobId }))).job?.jobProcessDetails;
    expect(await job()).toMatchObject({ numberOfQueuedThings: 2, numberOfSucceededThings: 0 });
    expect(store.pendingDeploymentsFor("core-1").map((d) => d.deploymentId)).toEqual([created.deploymentId]);

    await store.reportEffectiveDeployment("core-1", created.deploymentId as string, "IN_PROGRESS");
    expect(await job()).toMatchObject({ numberOfQueuedThings: 1, numberOfInProgressThings: 1 });
    await store.reportEffectiveDeployment("core-1", created.deploymentId as string, "SUCCEEDED");
    await store.reportEffectiveDeployment(
      "core-2",
      created.deploymentId as string,
      "FAILED",
      "install failed",
    );
    // Reporting the same outcome again is harmless.
    await store.reportEffectiveDeployment("core-1", created.deploymentId as string, "SUCCEEDED");
    expect(await job()).toMatchObject({
      numberOfSucceededThings: 1,
      numberOfFailedThings: 1,
      numberOfQueuedThings: 0,
    });
    expect(store.pendingDeploymentsFor("core-1")).toEqual([]);

    const effective = await gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: "core-2" }));
    expect(effective.effectiveDeployments).toMatchObject([
      {
        deploymentId: created.deploymentId,
        coreDeviceExecutionStatus: "FAILED",
        reason: "install failed",
        targetArn: groupArn("canary"),
        iotJobId: created.iotJobId,
      },
    ]);
    store.reportInstalledComponents("core-1", [
      {
        componentName: "com.example.Deployed",
        componentVersion: "1.0.0",
        lifecycleState: "RUNNING",
        isRoot: true,
      },
    ]);
    const installed = await gg.send(new ListInstalledComponentsCommand({ coreDeviceThingName: "core-1" }));
    expect(installed.installedComponents).toMatchObject([
      {
        componentName: "com.example.Deployed",
        componentVersion: "1.0.0",
        lifecycleState: "RUNNING",
        lastInstallationSource: groupArn("canary"),
      },
    ]);
  });

  it("a new deployment to the same target supersedes the old one and cancels its job", async () => {
    await deployable("com.example.Super", "1.0.0");
    await deployable("com.example.Super", "2.0.0");
    const old = await gg.send(
      new CreateDeploymentCommand({
        targetArn: groupArn("fleet"),
        components: { "com.example.Super": { componentVersion: "1.0.0" } },
      }),
    );
    const next = await gg.send(
      new CreateDeploymentCommand({
        targetArn: groupArn("fleet"),
        components: { "com.example.Super": { componentVersion: "2.0.0" } },
      }),
    );
    expect(await gg.send(new GetDeploymentCommand({ deploymentId: old.deploymentId }))).toMatchObject({
      deploymentStatus: "INACTIVE",
      isLatestForTarget: false,
    });
    expect(await gg.send(new GetDeploymentCommand({ deploymentId: next.deploymentId }))).toMatchObject({
      deploymentStatus: "ACTIVE",
      isLatestForTarget: true,
      revisionId: "2",
    });
    expect((await iot.send(new DescribeJobCommand({ jobId: old.iotJobId }))).job).toMatchObject({
      status: "CANCELED",
    });
    expect((await iot.send(new DescribeJobCommand({ jobId: next.iotJobId }))).job?.status).toBe(
      "IN_PROGRESS",
    );
    expect(store.pendingDeploymentsFor("core-3").map((d) => d.deploymentId)).toEqual([next.deploymentId]);

    const latest = await gg.send(
      new ListDeploymentsCommand({ targetArn: groupArn("fleet"), historyFilter: "LATEST_ONLY" }),
    );
    expect(latest.deployments?.map((d) => d.deploymentId)).toEqual([next.deploymentId]);
    const all = await gg.send(
      new ListDeploymentsCommand({ targetArn: groupArn("fleet"), historyFilter: "ALL" }),
    );
    expect(all.deployments?.map((d) => [d.deploymentId, d.deploymentStatus])).toEqual([
      [next.deploymentId, "ACTIVE"],
      [old.deploymentId, "INACTIVE"],
    ]);
    const paged = await gg.send(
      new ListDeploymentsCommand({ targetArn: groupArn("fleet"), historyFilter: "ALL", maxResults: 1 }),
    );
    expect(paged.deployments).toHaveLength(1);
    expect(paged.nextToken).toBeTruthy();
  });

  it("clientToken makes CreateDeployment idempotent; CancelDeployment cancels once", async () => {
    await deployable("com.example.Token", "1.0.0");
    const input = {
      targetArn: `arn:aws:iot:us-east-1:${account}:thing/core-1`,
      components: { "com.example.Token": { componentVersion: "1.0.0" } },
      clientToken: "tok-1",
    };
    const a = await gg.send(new CreateDeploymentCommand(input));
    const b = await gg.send(new CreateDeploymentCommand(input));
    expect(b.deploymentId).toBe(a.deploymentId);
    await expect(
      gg.send(new CreateDeploymentCommand({ ...input, deploymentName: "other" })),
    ).rejects.toMatchObject({ name: "ConflictException" });
    const cancel = await gg.send(new CancelDeploymentCommand({ deploymentId: a.deploymentId }));
    expect(cancel.message).toContain(a.deploymentId);
    expect(await gg.send(new GetDeploymentCommand({ deploymentId: a.deploymentId }))).toMatchObject({
      deploymentStatus: "CANCELED",
    });
    expect((await iot.send(new DescribeJobCommand({ jobId: a.iotJobId }))).job?.status).toBe("CANCELED");
    await expect(
      gg.send(new CancelDeploymentCommand({ deploymentId: a.deploymentId })),
    ).rejects.toMatchObject({ name: "ConflictException" });
    await expect(
      gg.send(new GetDeploymentCommand({ deploymentId: "00000000-0000-0000-0000-000000000000" })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(
      gg.send(new CreateDeploymentCommand({ targetArn: "arn:aws:s3:::bucket", components: {} })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("lists and describes core devices, filtered by thing group", async () => {
    const canary = await gg.send(new ListCoreDevicesCommand({ thingGroupArn: groupArn("canary") }));
    expect(canary.coreDevices?.map((d) => d.coreDeviceThingName)).toEqual(["core-1", "core-2"]);
    expect(canary.coreDevices?.[0]).toMatchObject({
      status: "HEALTHY",
      platform: "linux",
      architecture: "amd64",
      runtime: "aws_nucleus_classic",
    });
    // core-2 reported a failed deployment.
    expect((await gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: "core-2" }))).status).toBe(
      "UNHEALTHY",
    );
    await expect(gg.send(new GetCoreDeviceCommand({ coreDeviceThingName: "ghost" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});

describe("Greengrass V2 state", () => {
  it("components, deployments and core devices persist across a restart of the endpoint", async () => {
    const before = await gg.send(new ListDeploymentsCommand({ historyFilter: "ALL" }));
    const components = await gg.send(new ListComponentsCommand({}));
    await endpoint.close();
    endpoint = await startLocalEndpoint({ port: 0, stateDir, timeScale: 0 });
    gg = new GreengrassV2Client({ endpoint: endpoint.url, region: "us-east-1", credentials });
    expect((await gg.send(new ListDeploymentsCommand({ historyFilter: "ALL" }))).deployments).toEqual(
      before.deployments,
    );
    expect((await gg.send(new ListComponentsCommand({}))).components).toEqual(components.components);
    expect(
      (await gg.send(new DescribeComponentCommand({ arn: componentArn("com.example.Model", "1.0.0") })))
        .status?.componentState,
    ).toBe("DEPLOYABLE");
    expect(
      (await gg.send(new ListCoreDevicesCommand({}))).coreDevices?.map((d) => d.coreDeviceThingName),
    ).toEqual(["core-1", "core-2", "core-3"]);
    const effective = await gg.send(new ListEffectiveDeploymentsCommand({ coreDeviceThingName: "core-2" }));
    expect(effective.effectiveDeployments?.some((e) => e.coreDeviceExecutionStatus === "FAILED")).toBe(true);
  });
});
