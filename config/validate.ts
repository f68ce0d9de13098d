import edgeMlopsConfig from "../edge-mlops.config.ts";
import type { EdgeMlopsConfig, HardwareTarget, ModelGroupConfig, RolloutStage } from "./types.ts";

/** A configuration value is wrong; `path` names the field, e.g. `groups[0].stages[1].maxFailures`. */
export class ConfigValidationError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${path} ${problem}`, options);
    this.name = "ConfigValidationError";
  }
}

const fail = (path: string, problem: string): never => {
  throw new ConfigValidationError(path, problem);
};

/** SageMaker resource names (groups, jobs): `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`. */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** Target and stage names end up inside job names and client tokens, so keep them short and plain. */
const SHORT_NAME = /^[a-z0-9](-?[a-z0-9]){0,23}$/;
const COMPONENT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/;
const IOT_TARGET_ARN = /^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:(thinggroup|thing)\/[a-zA-Z0-9:_-]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SCHEDULE = /^(cron|rate|at)\(.+\)$/;

export const FRAMEWORKS = [
  "TENSORFLOW",
  "KERAS",
  "MXNET",
  "ONNX",
  "PYTORCH",
  "XGBOOST",
  "TFLITE",
  "DARKNET",
  "SKLEARN",
];
const OSES = ["LINUX", "ANDROID"];
const ARCHES = ["X86_64", "X86", "ARM64", "ARM_EABI", "ARM_EABIHF"];
const ACCELERATORS = ["INTEL_GRAPHICS", "MALI", "NVIDIA", "NNA"];
const STRATEGIES = ["component", "edge-packaging-job"];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function record(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) return fail(path, "must be an object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `is not a known field (known: ${allowed.join(", ")})`);
  }
  return value;
}

function string(value: unknown, path: string, pattern?: RegExp, hint?: string): string {
  if (typeof value !== "string" || value === "") return fail(path, "must be a non-empty string");
  if (pattern && !pattern.test(value)) fail(path, `must match ${hint ?? pattern.source} (got "${value}")`);
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, options: readonly string[]): T {
  if (typeof value !== "string" || !options.includes(value))
    fail(path, `must be one of ${options.join(", ")} (got ${JSON.stringify(value)})`);
  return value as T;
}

function jsonString(value: unknown, path: string): string {
  const text = string(value, path);
  try {
    JSON.parse(text);
  } catch (cause) {
    throw new ConfigValidationError(path, `must be a JSON string (got ${text})`, { cause });
  }
  return text;
}

/** Checks a number field; exported so package overrides get the same rule and message. */
export function numberIn(value: unknown, path: string, min: number, max: number, integer = true): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return fail(path, "must be a number");
  if (integer && !Number.isInteger(value)) fail(path, "must be an integer");
  if (value < min || value > max) fail(path, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) return fail(path, "must be a non-empty array");
  return value;
}

function unique(values: string[], path: (i: number) => string, what: string): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v)) fail(path(i), `duplicates ${what} "${v}"`);
    seen.add(v);
  });
}

/** Numeric stage fields: [min, max, integer]. Shared with the per-package overrides. */
export const stageNumberRules = {
  successThresholdPercent: [0, 100, false],
  maxFailures: [0, 1_000_000, true],
  bakeSeconds: [0, 86_400, true],
  timeoutSeconds: [1, 7 * 86_400, true],
  maximumPerMinute: [1, 1000, true],
  abortThresholdPercent: [0.01, 100, false],
  abortMinNumberOfExecutedThings: [1, 1_000_000, true],
  inProgressTimeoutMinutes: [1, 10_080, true],
} as const satisfies Record<string, readonly [number, number, boolean]>;

export type StageNumberField = keyof typeof stageNumberRules;

function validateStage(value: unknown, path: string): RolloutStage {
  const s = record(value, path, ["name", "targetArn", "abortFailureType", ...Object.keys(stageNumberRules)]);
  string(
    s.name,
    `${path}.name`,
    SHORT_NAME,
    "lowercase letters, digits and single dashes, at most 24 characters",
  );
  string(s.targetArn, `${path}.targetArn`, IOT_TARGET_ARN, "an IoT thing group (or thing) ARN");
  for (const [field, [min, max, integer]] of Object.entries(stageNumberRules)) {
    const required = ["successThresholdPercent", "maxFailures", "bakeSeconds", "timeoutSeconds"].includes(
      field,
    );
    if (s[field] === undefined && !required) continue;
    numberIn(s[field], `${path}.${field}`, min, max, integer);
  }
  if (s.abortFailureType !== undefined)
    oneOf(s.abortFailureType, `${path}.abortFailureType`, ["FAILED", "ALL"]);
  if ((s.timeoutSeconds as number) <= (s.bakeSeconds as number))
    fail(`${path}.timeoutSeconds`, `must be greater than bakeSeconds (${s.bakeSeconds})`);
  return s as unknown as RolloutStage;
}

function validateTarget(value: unknown, path: string): HardwareTarget {
  const t = record(value, path, [
    "name",
    "targetDevice",
    "targetPlatform",
    "compilerOptions",
    "framework",
    "dataInputConfig",
    "greengrassPlatform",
  ]);
  string(
    t.name,
    `${path}.name`,
    SHORT_NAME,
    "lowercase letters, digits and single dashes, at most 24 characters",
  );
  if ((t.targetDevice === undefined) === (t.targetPlatform === undefined))
    fail(path, "must set exactly one of targetDevice and targetPlatform");
  if (t.targetDevice !== undefined) string(t.targetDevice, `${path}.targetDevice`, /^[a-z0-9_]+$/);
  if (t.targetPlatform !== undefined) {
    const p = record(t.targetPlatform, `${path}.targetPlatform`, ["Os", "Arch", "Accelerator"]);
    oneOf(p.Os, `${path}.targetPlatform.Os`, OSES);
    oneOf(p.Arch, `${path}.targetPlatform.Arch`, ARCHES);
    if (p.Accelerator !== undefined) oneOf(p.Accelerator, `${path}.targetPlatform.Accelerator`, ACCELERATORS);
  }
  if (t.compilerOptions !== undefined) string(t.compilerOptions, `${path}.compilerOptions`);
  if (t.framework !== undefined) oneOf(t.framework, `${path}.framework`, FRAMEWORKS);
  if (t.dataInputConfig !== undefined) jsonString(t.dataInputConfig, `${path}.dataInputConfig`);
  if (t.greengrassPlatform !== undefined) {
    const g = record(t.greengrassPlatform, `${path}.greengrassPlatform`, ["os", "architecture"]);
    string(g.os, `${path}.greengrassPlatform.os`);
    if (g.architecture !== undefined) string(g.architecture, `${path}.greengrassPlatform.architecture`);
  }
  return t as unknown as HardwareTarget;
}

/** Validates one group; `path` prefixes every message (e.g. `groups[0]`). */
export function validateGroup(value: unknown, path: string): ModelGroupConfig {
  const g = record(value, path, [
    "modelPackageGroupName",
    "componentName",
    "inferenceComponentName",
    "inferenceComponentVersionRequirement",
    "packagingStrategy",
    "targets",
    "stages",
    "compilationTimeoutSeconds",
    "packagingTimeoutSeconds",
  ]);
  string(g.modelPackageGroupName, `${path}.modelPackageGroupName`, SAGEMAKER_NAME);
  string(g.componentName, `${path}.componentName`, COMPONENT_NAME, "a Greengrass component name");
  string(
    g.inferenceComponentName,
    `${path}.inferenceComponentName`,
    COMPONENT_NAME,
    "a Greengrass component name",
  );
  string(g.inferenceComponentVersionRequirement, `${path}.inferenceComponentVersionRequirement`);
  oneOf(g.packagingStrategy, `${path}.packagingStrategy`, STRATEGIES);
  const targets = array(g.targets, `${path}.targets`).map((t, i) =>
    validateTarget(t, `${path}.targets[${i}]`),
  );
  unique(
    targets.map((t) => t.name),
    (i) => `${path}.targets[${i}].name`,
    "target name",
  );
  const stages = array(g.stages, `${path}.stages`).map((s, i) => validateStage(s, `${path}.stages[${i}]`));
  unique(
    stages.map((s) => s.name),
    (i) => `${path}.stages[${i}].name`,
    "stage name",
  );
  unique(
    stages.map((s) => s.targetArn),
    (i) => `${path}.stages[${i}].targetArn`,
    "stage target",
  );
  if (g.compilationTimeoutSeconds !== undefined)
    numberIn(g.compilationTimeoutSeconds, `${path}.compilationTimeoutSeconds`, 60, 86_400);
  if (g.packagingTimeoutSeconds !== undefined)
    numberIn(g.packagingTimeoutSeconds, `${path}.packagingTimeoutSeconds`, 60, 86_400);
  const unplaced = targets.filter((t) => greengrassPlatformOf(t) === undefined);
  if (g.packagingStrategy === "component" && targets.length > 1 && unplaced.length > 0)
    fail(
      `${path}.targets[${targets.indexOf(unplaced[0] as HardwareTarget)}].greengrassPlatform`,
      "is required when several targets share one component (it picks the manifest)",
    );
  return g as unknown as ModelGroupConfig;
}

/**
 * Validates a whole configuration and returns it typed; throws one ConfigValidationError naming the field.
 * @example validateConfig(JSON.parse(process.env.EDGE_MLOPS_CONFIG))
 */
export function validateConfig(value: unknown): EdgeMlopsConfig {
  const c = record(value, "config", [
    "sageMakerRoleArn",
    "groups",
    "redeploySchedule",
    "capturePrefix",
    "driftSchedule",
    "driftWindowHours",
  ]);
  if (c.sageMakerRoleArn !== undefined)
    string(c.sageMakerRoleArn, "sageMakerRoleArn", ROLE_ARN, "an IAM role ARN");
  const groups = array(c.groups, "groups").map((g, i) => validateGroup(g, `groups[${i}]`));
  unique(
    groups.map((g) => g.modelPackageGroupName),
    (i) => `groups[${i}].modelPackageGroupName`,
    "group",
  );
  if (c.redeploySchedule !== undefined)
    string(c.redeploySchedule, "redeploySchedule", SCHEDULE, "cron(…), rate(…) or at(…)");
  string(
    c.capturePrefix,
    "capturePrefix",
    /^[^/].*[^/]$|^[^/]$/,
    "an S3 prefix without leading or trailing slash",
  );
  string(c.driftSchedule, "driftSchedule", SCHEDULE, "cron(…), rate(…) or at(…)");
  numberIn(c.driftWindowHours, "driftWindowHours", 1, 24 * 31);
  return c as unknown as EdgeMlopsConfig;
}

/** Greengrass manifest platform of a target: configured, or derived from its Neo TargetPlatform. */
export function greengrassPlatformOf(
  target: HardwareTarget,
): { os: string; architecture?: string } | undefined {
  if (target.greengrassPlatform) return target.greengrassPlatform;
  const p = target.targetPlatform;
  if (!p) return undefined;
  const architecture = { X86_64: "amd64", X86: "x86", ARM64: "aarch64", ARM_EABI: "arm", ARM_EABIHF: "arm" }[
    p.Arch
  ];
  return { os: p.Os === "LINUX" ? "linux" : p.Os.toLowerCase(), architecture };
}

/**
 * The project's configuration, validated. The stacks call this at synth (a bad value fails the
 * synth naming the field) and pass `JSON.stringify(loadConfig())` to the Lambdas as EDGE_MLOPS_CONFIG.
 */
export function loadConfig(raw: unknown = edgeMlopsConfig): EdgeMlopsConfig {
  return validateConfig(structuredClone(raw));
}

/** Reads and validates the configuration the stack put in EDGE_MLOPS_CONFIG. */
export function configFromJson(json: string | undefined, variable = "EDGE_MLOPS_CONFIG"): EdgeMlopsConfig {
  if (json === undefined || json === "") throw new ConfigValidationError(variable, "is not set");
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (cause) {
    throw new ConfigValidationError(variable, "is not valid JSON", { cause });
  }
  return validateConfig(parsed);
}
