/**
 * The shape of `edge-mlops.config.ts`. Validation (with messages that name the field) lives in
 * `config/validate.ts`; the stacks call it at synth and hand the validated JSON to the Lambdas
 * in the `EDGE_MLOPS_CONFIG` environment variable.
 */

/** One hardware target for SageMaker Neo: either a named device or a platform triple. */
export interface HardwareTarget {
  /** Short name used in job and component names, e.g. "jetson-xavier" (lowercase, digits, dashes). */
  name: string;
  /** SageMaker `TargetDevice`, e.g. "jetson_xavier" — exclusive with `targetPlatform`. */
  targetDevice?: string;
  /** SageMaker `TargetPlatform` — exclusive with `targetDevice`. */
  targetPlatform?: {
    Os: "LINUX" | "ANDROID";
    Arch: "X86_64" | "X86" | "ARM64" | "ARM_EABI" | "ARM_EABIHF";
    Accelerator?: "INTEL_GRAPHICS" | "MALI" | "NVIDIA" | "NNA";
  };
  /** SageMaker `CompilerOptions` JSON string. */
  compilerOptions?: string;
  /** Used when the model package does not say: `Framework` (e.g. "ONNX", "PYTORCH"). */
  framework?: string;
  /** Used when the model package does not say: `DataInputConfig`, e.g. '{"input0":[1,16]}'. */
  dataInputConfig?: string;
  /** Greengrass platform for the component manifest, e.g. { os: "linux", architecture: "aarch64" }. */
  greengrassPlatform?: { os: string; architecture?: string };
}

export interface RolloutStage {
  /** Display name, e.g. "canary", "fleet". */
  name: string;
  /** IoT thing group ARN the deployment targets. */
  targetArn: string;
  /** Percentage of devices that must succeed for the gate to pass, 0–100. */
  successThresholdPercent: number;
  /** Failed devices tolerated before the gate fails. */
  maxFailures: number;
  /** Seconds to keep watching after the stage reached its threshold, before moving on. */
  bakeSeconds: number;
  /** Seconds after which an unfinished stage counts as failed. */
  timeoutSeconds: number;
  /** IoT job rollout: devices notified per minute. */
  maximumPerMinute?: number;
  /** IoT job abort: failure percentage that aborts the job. */
  abortThresholdPercent?: number;
  /** IoT job abort: minimum executed devices before the abort criterion applies. */
  abortMinNumberOfExecutedThings?: number;
  /** IoT job per-device in-progress timeout in minutes. */
  inProgressTimeoutMinutes?: number;
  /** Which device outcomes count toward the abort threshold: "FAILED" only, or "ALL" (failed, rejected, timed out). Default "ALL". */
  abortFailureType?: "FAILED" | "ALL";
}

export type PackagingStrategy = "component" | "edge-packaging-job";

export interface ModelGroupConfig {
  /** SageMaker model package group to watch. */
  modelPackageGroupName: string;
  /** Greengrass component name for the packaged model, e.g. "com.example.models.Classifier". */
  componentName: string;
  /** Inference component the model component depends on. */
  inferenceComponentName: string;
  /** Version requirement on the inference component, e.g. ">=1.0.0 <2.0.0". */
  inferenceComponentVersionRequirement: string;
  packagingStrategy: PackagingStrategy;
  targets: HardwareTarget[];
  stages: RolloutStage[];
  /** Neo compilation limit in seconds (StoppingCondition and the poll bound). Default 3600. */
  compilationTimeoutSeconds?: number;
  /** Packaging (component or edge packaging job) poll bound in seconds. Default 1800. */
  packagingTimeoutSeconds?: number;
}

export interface EdgeMlopsConfig {
  /** SageMaker execution role ARN Neo and packaging jobs run as (created by the stack when absent). */
  sageMakerRoleArn?: string;
  groups: ModelGroupConfig[];
  /** EventBridge Scheduler expression for the periodic redeploy, e.g. "cron(0 3 * * ? *)"; omit to disable. */
  redeploySchedule?: string;
  /** Capture data prefix on the capture bucket (devices write `<prefix>/<fleet>/<model>/YYYY/MM/DD/HH/`). */
  capturePrefix: string;
  /** EventBridge Scheduler expression for drift aggregation, e.g. "rate(1 hour)". */
  driftSchedule: string;
  /** Aggregation window in hours. */
  driftWindowHours: number;
}
