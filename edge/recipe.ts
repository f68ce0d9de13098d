import { envName, type Settings, settingKeys, settingSpecs } from "./settings.ts";

export const INFERENCE_COMPONENT_NAME = "com.edgemlops.InferenceRuntime";
/** File name of the bundle in the component's artifacts. */
export const INFERENCE_ARTIFACT_FILE = "inference-runtime.mjs";
/** The native runtime the Install step puts into the work folder; kept equal to the repository's (tested). */
export const ONNXRUNTIME_NODE_VERSION = "1.30.0";
/** Default socket: what applications and model components connect to when nothing is configured. */
export const DEFAULT_SOCKET_PATH = "/tmp/edge-mlops-inference.sock";

export interface InferenceRecipeInput {
  componentVersion: string;
  /** s3:// URI of dist/edge/inference-runtime.mjs as uploaded. */
  artifactUri: string;
  /** SHA-256 of the artifact, base64 (as Greengrass writes it). */
  artifactDigest: string;
  /** Overrides of the DefaultConfiguration, e.g. { DeviceFleetName, BucketName, FolderPrefix }. */
  configuration?: Partial<Settings>;
  onnxruntimeNodeVersion?: string;
}

export interface GreengrassRecipe {
  RecipeFormatVersion: "2020-01-25";
  ComponentName: string;
  ComponentVersion: string;
  ComponentDescription: string;
  ComponentPublisher: string;
  ComponentDependencies: Record<string, { VersionRequirement: string; DependencyType: "HARD" | "SOFT" }>;
  ComponentConfiguration: { DefaultConfiguration: Record<string, string | number | boolean> };
  Manifests: Array<{
    Platform: { os: string; architecture?: string };
    Lifecycle: Record<string, unknown>;
    Artifacts: Array<{
      Uri: string;
      Digest: string;
      Algorithm: "SHA-256";
      Unarchive: "NONE";
      Permission: { Read: string; Execute: string };
    }>;
  }>;
}

/**
 * The recipe of the inference component. Configuration reaches the process as EDGE_*
 * variables (Setenv with `{configuration:/Key}`), the native ONNX Runtime is installed into
 * the work folder and found through NODE_PATH, and the TokenExchangeService dependency is what
 * gives the process AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN for
 * capture uploads (TES needs no IPC access-control policy; it is reached over HTTP).
 * @example inferenceRuntimeRecipe({ componentVersion: "1.0.0", artifactUri: "s3://b/k/inference-runtime.mjs", artifactDigest })
 */
export function inferenceRuntimeRecipe(input: InferenceRecipeInput): GreengrassRecipe {
  const ortVersion = input.onnxruntimeNodeVersion ?? ONNXRUNTIME_NODE_VERSION;
  const defaults: Record<string, string | number | boolean> = {};
  for (const key of settingKeys) defaults[key] = settingSpecs[key].default;
  defaults.SocketPath = DEFAULT_SOCKET_PATH;
  Object.assign(defaults, input.configuration ?? {});

  const setenv: Record<string, string> = { NODE_PATH: "{work:path}/node_modules" };
  for (const key of settingKeys) setenv[envName(key)] = `{configuration:/${key}}`;

  // Re-running Install is cheap when the right version is already there.
  const installed = `node -e "process.exit(require('{work:path}/node_modules/onnxruntime-node/package.json').version==='${ortVersion}'?0:1)"`;
  const install = `npm install --prefix {work:path} --no-save --no-package-lock --no-audit --no-fund onnxruntime-node@${ortVersion}`;

  return {
    RecipeFormatVersion: "2020-01-25",
    ComponentName: INFERENCE_COMPONENT_NAME,
    ComponentVersion: input.componentVersion,
    ComponentDescription:
      "ONNX Runtime inference over a local socket with Edge Manager-format capture to S3 or disk (replaces the SageMaker Edge Manager agent).",
    ComponentPublisher: "edge-mlops",
    ComponentDependencies: {
      "aws.greengrass.TokenExchangeService": { VersionRequirement: ">=2.0.0 <3.0.0", DependencyType: "HARD" },
    },
    ComponentConfiguration: { DefaultConfiguration: defaults },
    Manifests: [
      {
        Platform: { os: "linux" },
        Lifecycle: {
          Setenv: setenv,
          Install: {
            Script: `${installed} 2>/dev/null || ${install}`,
            // Only the CPU build is wanted; the CUDA provider would be a separate download.
            Setenv: { ONNXRUNTIME_NODE_INSTALL: "skip" },
            Timeout: 900,
          },
          Run: { Script: `node {artifacts:path}/${INFERENCE_ARTIFACT_FILE} serve` },
        },
        Artifacts: [
          {
            Uri: input.artifactUri,
            Digest: input.artifactDigest,
            Algorithm: "SHA-256",
            Unarchive: "NONE",
            Permission: { Read: "OWNER", Execute: "NONE" },
          },
        ],
      },
    ],
  };
}

export interface ModelComponentLifecycleInput {
  /** Name applications predict with, e.g. "example-classifier". */
  modelName: string;
  /** Recorded in capture as modelVersion; usually the model component's version. */
  modelVersion: string;
  /**
   * The model on the device, usually in the model component's own unpacked artifact, e.g.
   * "{artifacts:decompressedPath}/classifier-linux-x86-64" (a folder holding model.onnx).
   */
  modelPath: string;
}

/**
 * Lifecycle for a model component that depends on the inference component: its Run step asks
 * the running inference component to load the model, replacing the one loaded under the same
 * name, and waits for the socket to appear. There is deliberately no Shutdown unload: on an
 * update or rollback Greengrass stops the old version before starting the new one, and an
 * unload there would leave a gap with no model; the swap keeps predictions answered throughout.
 * Interpolates the inference component's artifacts path, work path (for NODE_PATH) and
 * SocketPath, which Greengrass allows for a dependency.
 * @example { ...recipe, Manifests: [{ Lifecycle: modelComponentLifecycle({ modelName, modelVersion, modelPath }) }] }
 */
export function modelComponentLifecycle(input: ModelComponentLifecycleInput): Record<string, unknown> {
  const component = INFERENCE_COMPONENT_NAME;
  const cli = `node {${component}:artifacts:path}/${INFERENCE_ARTIFACT_FILE}`;
  const target = `--socket-path "{${component}:configuration:/SocketPath}" --model-name "${input.modelName}"`;
  return {
    Setenv: { NODE_PATH: `{${component}:work:path}/node_modules` },
    Run: {
      Script: `${cli} load ${target} --model-path "${input.modelPath}" --model-version "${input.modelVersion}"`,
    },
  };
}
