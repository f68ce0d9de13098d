import type { ModelGroupConfig, PackagingStrategy } from "./types.ts";
import {
  ConfigValidationError,
  FRAMEWORKS,
  numberIn,
  type StageNumberField,
  stageNumberRules,
  validateGroup,
} from "./validate.ts";

/** Every CustomerMetadataProperties key the pipeline reads starts with this; others are left alone. */
export const OVERRIDE_PREFIX = "edge-mlops:";

/**
 * Keys a model package may set in CustomerMetadataProperties (all values are strings):
 * - `edge-mlops:targets` — comma-separated subset of the group's target names, e.g. "linux-arm64"
 * - `edge-mlops:packagingStrategy` — "component" | "edge-packaging-job"
 * - `edge-mlops:stage.<stage>.<field>` — a numeric stage field, e.g. `edge-mlops:stage.canary.bakeSeconds` = "60"
 * - `edge-mlops:target.<target>.<field>` — `framework`, `dataInputConfig` or `compilerOptions` of one target
 */
export const overrideKeys = {
  targets: `${OVERRIDE_PREFIX}targets`,
  packagingStrategy: `${OVERRIDE_PREFIX}packagingStrategy`,
  stagePrefix: `${OVERRIDE_PREFIX}stage.`,
  targetPrefix: `${OVERRIDE_PREFIX}target.`,
} as const;

const TARGET_FIELDS = ["framework", "dataInputConfig", "compilerOptions"] as const;

const keyPath = (key: string) => `CustomerMetadataProperties["${key}"]`;

/**
 * Applies a model package's `edge-mlops:` metadata to its group's configuration. Each value is checked
 * with the same rules as the configuration file, and the error names the metadata key.
 * @example applyPackageOverrides(group, { "edge-mlops:stage.canary.bakeSeconds": "60" })
 */
export function applyPackageOverrides(
  group: ModelGroupConfig,
  metadata: Record<string, string> | undefined,
): ModelGroupConfig {
  const result = structuredClone(group);
  for (const [key, raw] of Object.entries(metadata ?? {})) {
    if (!key.startsWith(OVERRIDE_PREFIX)) continue;
    const path = keyPath(key);
    if (key === overrideKeys.targets) {
      const names = raw.split(",").map((n) => n.trim());
      const known = group.targets.map((t) => t.name);
      const unknown = names.filter((n) => !known.includes(n));
      if (names.length === 0 || names.includes("") || unknown.length > 0)
        throw new ConfigValidationError(
          path,
          `must list configured targets separated by commas (unknown: ${unknown.join(", ") || "empty name"}; configured: ${known.join(", ")})`,
        );
      result.targets = result.targets.filter((t) => names.includes(t.name));
    } else if (key === overrideKeys.packagingStrategy) {
      if (raw !== "component" && raw !== "edge-packaging-job")
        throw new ConfigValidationError(path, `must be one of component, edge-packaging-job (got "${raw}")`);
      result.packagingStrategy = raw as PackagingStrategy;
    } else if (key.startsWith(overrideKeys.stagePrefix)) {
      const [stageName, field, ...rest] = key.slice(overrideKeys.stagePrefix.length).split(".");
      const stage = result.stages.find((s) => s.name === stageName);
      if (!stage || rest.length > 0)
        throw new ConfigValidationError(
          path,
          `names no configured stage (stages: ${group.stages.map((s) => s.name).join(", ")})`,
        );
      if (!field || !(field in stageNumberRules))
        throw new ConfigValidationError(
          path,
          `names no stage field (fields: ${Object.keys(stageNumberRules).join(", ")})`,
        );
      const [min, max, integer] = stageNumberRules[field as StageNumberField];
      const value = raw.trim() === "" ? Number.NaN : Number(raw);
      stage[field as StageNumberField] = numberIn(value, path, min, max, integer);
    } else if (key.startsWith(overrideKeys.targetPrefix)) {
      const [targetName, field, ...rest] = key.slice(overrideKeys.targetPrefix.length).split(".");
      const target = result.targets.find((t) => t.name === targetName);
      const known = group.targets.some((t) => t.name === targetName);
      if (!known || rest.length > 0)
        throw new ConfigValidationError(
          path,
          `names no configured target (targets: ${group.targets.map((t) => t.name).join(", ")})`,
        );
      if (!TARGET_FIELDS.includes(field as (typeof TARGET_FIELDS)[number]))
        throw new ConfigValidationError(path, `names no target field (fields: ${TARGET_FIELDS.join(", ")})`);
      if (field === "framework" && !FRAMEWORKS.includes(raw))
        throw new ConfigValidationError(path, `must be one of ${FRAMEWORKS.join(", ")} (got "${raw}")`);
      if (field === "dataInputConfig") {
        try {
          JSON.parse(raw);
        } catch (cause) {
          throw new ConfigValidationError(path, `must be a JSON string (got ${raw})`, { cause });
        }
      }
      // A target dropped by `edge-mlops:targets` may still carry overrides; they simply do not apply.
      if (target) target[field as (typeof TARGET_FIELDS)[number]] = raw;
    } else {
      throw new ConfigValidationError(
        path,
        `is not a known key (known: ${overrideKeys.targets}, ${overrideKeys.packagingStrategy}, ${overrideKeys.stagePrefix}<stage>.<field>, ${overrideKeys.targetPrefix}<target>.<field>)`,
      );
    }
  }
  // Cross-field rules (timeout > bake, platforms) hold for the merged result too.
  try {
    return validateGroup(result, "CustomerMetadataProperties (merged with the group configuration)");
  } catch (error) {
    if (error instanceof ConfigValidationError) throw error;
    throw new ConfigValidationError("CustomerMetadataProperties", "could not be applied", { cause: error });
  }
}
