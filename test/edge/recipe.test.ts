import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SOCKET_PATH,
  INFERENCE_COMPONENT_NAME,
  inferenceRuntimeRecipe,
  modelComponentLifecycle,
  ONNXRUNTIME_NODE_VERSION,
} from "../../edge/recipe.ts";
import { envName, flagName, readSettings, SettingsError, settingKeys } from "../../edge/settings.ts";
import edgeConfig from "../../edge-mlops.config.ts";

const digest = "M8dAAkpcmQolB5HNKrwNOQJlUxDnNuyd3IDRyXa/UWg=";

describe("inference component recipe", () => {
  const recipe = inferenceRuntimeRecipe({
    componentVersion: "1.2.3",
    artifactUri: "s3://artifacts/components/com.edgemlops.InferenceRuntime/1.2.3/inference-runtime.mjs",
    artifactDigest: digest,
    configuration: { DeviceFleetName: "factory", BucketName: "capture-bucket" },
  });

  it("names the component the pipeline's model components depend on", () => {
    expect(recipe.ComponentName).toBe(INFERENCE_COMPONENT_NAME);
    expect(edgeConfig.groups.map((g) => g.inferenceComponentName)).toContain(recipe.ComponentName);
    expect(recipe).toMatchObject({ RecipeFormatVersion: "2020-01-25", ComponentVersion: "1.2.3" });
  });

  it("depends on the token exchange service for capture credentials", () => {
    expect(recipe.ComponentDependencies).toEqual({
      "aws.greengrass.TokenExchangeService": { VersionRequirement: ">=2.0.0 <3.0.0", DependencyType: "HARD" },
    });
  });

  it("ships the bundle as its one artifact with a SHA-256 digest", () => {
    expect(recipe.Manifests).toHaveLength(1);
    expect(recipe.Manifests[0]?.Artifacts).toEqual([
      {
        Uri: "s3://artifacts/components/com.edgemlops.InferenceRuntime/1.2.3/inference-runtime.mjs",
        Digest: digest,
        Algorithm: "SHA-256",
        Unarchive: "NONE",
        Permission: { Read: "OWNER", Execute: "NONE" },
      },
    ]);
  });

  it("installs onnxruntime-node into the work folder and runs the bundle with node", () => {
    const lifecycle = recipe.Manifests[0]?.Lifecycle as Record<
      string,
      { Script?: string; Setenv?: Record<string, string> } & Record<string, string>
    >;
    expect(lifecycle.Install?.Script).toContain(`npm install --prefix {work:path}`);
    expect(lifecycle.Install?.Script).toContain(`onnxruntime-node@${ONNXRUNTIME_NODE_VERSION}`);
    expect(lifecycle.Run?.Script).toBe("node {artifacts:path}/inference-runtime.mjs serve");
    expect(lifecycle.Setenv?.NODE_PATH).toBe("{work:path}/node_modules");
  });

  it("passes every configuration key to the process as an EDGE_* variable", () => {
    const config = recipe.ComponentConfiguration.DefaultConfiguration;
    const setenv =
      (recipe.Manifests[0]?.Lifecycle as { Setenv: Record<string, string> } | undefined)?.Setenv ?? {};
    expect(Object.keys(config).sort()).toEqual([...settingKeys].sort());
    for (const key of settingKeys) expect(setenv[envName(key)]).toBe(`{configuration:/${key}}`);
    expect(config).toMatchObject({
      SocketPath: DEFAULT_SOCKET_PATH,
      DeviceFleetName: "factory",
      BucketName: "capture-bucket",
      CaptureDataDestination: "Cloud",
      CaptureDataBufferSize: 30,
      CaptureDataBatchSize: 10,
      CaptureDataPushPeriodSeconds: 4,
      CaptureDataBase64EmbedLimit: 3072,
    });
  });

  it("installs the same onnxruntime-node the repository tests against", () => {
    const installed = createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string };
    expect(ONNXRUNTIME_NODE_VERSION).toBe(installed.version);
  });
});

describe("component settings", () => {
  it("maps keys to environment variables and flags", () => {
    expect(envName("CaptureDataBufferSize")).toBe("EDGE_CAPTURE_DATA_BUFFER_SIZE");
    expect(flagName("CaptureDataBufferSize")).toBe("capture-data-buffer-size");
  });

  it("reads flags over environment over defaults; empty means unset", () => {
    const settings = readSettings(
      { "capture-data-batch-size": "5" },
      {
        EDGE_CAPTURE_DATA_BATCH_SIZE: "7",
        EDGE_CAPTURE_DATA_BUFFER_SIZE: "50",
        EDGE_BUCKET_NAME: "b",
        EDGE_SOCKET_PATH: "",
        EDGE_CAPTURE_DATA: "true",
        AWS_IOT_THING_NAME: "thing-7",
      },
    );
    expect(settings).toMatchObject({
      CaptureDataBatchSize: 5,
      CaptureDataBufferSize: 50,
      SocketPath: "",
      DeviceId: "thing-7",
      CaptureData: true,
    });
  });

  it("says what is wrong with a bad value", () => {
    expect(() => readSettings({}, { EDGE_CAPTURE_DATA_BUFFER_SIZE: "lots", EDGE_BUCKET_NAME: "b" })).toThrow(
      /CaptureDataBufferSize must be a number/,
    );
    expect(() => readSettings({}, {})).toThrow(SettingsError);
    expect(() => readSettings({}, {})).toThrow(/needs BucketName/);
    expect(() => readSettings({}, { EDGE_CAPTURE_DATA_DESTINATION: "Tape" })).toThrow(/Cloud or Disk/);
    expect(() => readSettings({}, { EDGE_CAPTURE_DATA: "false", EDGE_MODEL_PATH: "/m" })).toThrow(
      /ModelName/,
    );
  });
});

describe("model component lifecycle", () => {
  it("loads the model into the running inference component through its CLI and socket", () => {
    const lifecycle = modelComponentLifecycle({
      modelName: "example-classifier",
      modelVersion: "1.4.0",
      modelPath: "{artifacts:decompressedPath}/classifier-linux-x86-64",
    });
    expect(lifecycle).toEqual({
      Setenv: { NODE_PATH: "{com.edgemlops.InferenceRuntime:work:path}/node_modules" },
      Run: {
        Script:
          'node {com.edgemlops.InferenceRuntime:artifacts:path}/inference-runtime.mjs load --socket-path "{com.edgemlops.InferenceRuntime:configuration:/SocketPath}" --model-name "example-classifier" --model-path "{artifacts:decompressedPath}/classifier-linux-x86-64" --model-version "1.4.0"',
      },
    });
  });
});
