import "./env.ts";
import { describe, expect, it } from "vitest";
import { applyPackageOverrides } from "../../config/overrides.ts";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import { ConfigValidationError, configFromJson, loadConfig, validateConfig } from "../../config/validate.ts";
import projectConfig from "../../edge-mlops.config.ts";

const clone = (): EdgeMlopsConfig & Record<string, unknown> => structuredClone(projectConfig) as never;

/** Sets `a[0].b` style paths on a plain object. */
function setPath(target: unknown, path: string, value: unknown): void {
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  const last = keys.pop() as string;
  const parent = keys.reduce((node, key) => (node as Record<string, unknown>)[key], target);
  (parent as Record<string, unknown>)[last] = value;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigValidationError");
}

describe("config validation", () => {
  it("accepts the project's configuration and returns it unchanged", () => {
    expect(loadConfig()).toEqual(projectConfig);
    expect(configFromJson(JSON.stringify(projectConfig))).toEqual(projectConfig);
  });

  it.each([
    [
      "groups[0].stages[1].successThresholdPercent",
      120,
      "groups[0].stages[1].successThresholdPercent must be between 0 and 100 (got 120)",
    ],
    ["groups[0].stages[0].maxFailures", 1.5, "groups[0].stages[0].maxFailures must be an integer"],
    [
      "groups[0].stages[0].timeoutSeconds",
      100,
      "groups[0].stages[0].timeoutSeconds must be greater than bakeSeconds (300)",
    ],
    [
      "groups[0].stages[1].targetArn",
      "fleet",
      "groups[0].stages[1].targetArn must match an IoT thing group (or thing) ARN",
    ],
    ["groups[0].stages[1].name", "canary", 'groups[0].stages[1].name duplicates stage name "canary"'],
    [
      "groups[0].targets[1].targetDevice",
      "jetson_xavier",
      "groups[0].targets[1] must set exactly one of targetDevice and targetPlatform",
    ],
    [
      "groups[0].targets[0].dataInputConfig",
      "{input",
      "groups[0].targets[0].dataInputConfig must be a JSON string",
    ],
    ["groups[0].targets[0].framework", "CAFFE", "groups[0].targets[0].framework must be one of"],
    [
      "groups[0].packagingStrategy",
      "zip",
      "groups[0].packagingStrategy must be one of component, edge-packaging-job",
    ],
    ["groups[0].modelPackageGroupName", "bad_name", "groups[0].modelPackageGroupName must match"],
    ["groups", [], "groups must be a non-empty array"],
    ["group", [], "config.group is not a known field"],
    ["redeploySchedule", "daily", "redeploySchedule must match cron(…), rate(…) or at(…)"],
  ])("names the field: %s = %j", (path, value, message) => {
    const config = clone();
    setPath(config, path, value);
    expect(messageOf(() => validateConfig(config))).toContain(message);
  });

  it("a missing or broken EDGE_MLOPS_CONFIG is reported as such", () => {
    expect(messageOf(() => configFromJson(undefined))).toBe("EDGE_MLOPS_CONFIG is not set");
    expect(messageOf(() => configFromJson("{"))).toBe("EDGE_MLOPS_CONFIG is not valid JSON");
  });
});

describe("per-package overrides (CustomerMetadataProperties)", () => {
  const group = projectConfig.groups[0] as EdgeMlopsConfig["groups"][number];

  it("applies edge-mlops: keys and ignores others", () => {
    const merged = applyPackageOverrides(group, {
      "trained-on": "2026-11-20",
      "edge-mlops:targets": "linux-arm64",
      "edge-mlops:packagingStrategy": "edge-packaging-job",
      "edge-mlops:stage.canary.bakeSeconds": "60",
      "edge-mlops:stage.fleet.successThresholdPercent": "90.5",
      "edge-mlops:target.linux-arm64.dataInputConfig": '{"input":[1,32]}',
    });
    expect(merged.targets.map((t) => t.name)).toEqual(["linux-arm64"]);
    expect(merged.targets[0]?.dataInputConfig).toBe('{"input":[1,32]}');
    expect(merged.packagingStrategy).toBe("edge-packaging-job");
    expect(merged.stages[0]?.bakeSeconds).toBe(60);
    expect(merged.stages[1]?.successThresholdPercent).toBe(90.5);
    expect(group.stages[0]?.bakeSeconds).toBe(300); // the configuration itself is untouched
  });

  it.each([
    [
      { "edge-mlops:stage.canary.successThresholdPercent": "101" },
      'CustomerMetadataProperties["edge-mlops:stage.canary.successThresholdPercent"] must be between 0 and 100 (got 101)',
    ],
    [
      { "edge-mlops:stage.canary.bakeSeconds": "soon" },
      'CustomerMetadataProperties["edge-mlops:stage.canary.bakeSeconds"] must be a number',
    ],
    [{ "edge-mlops:stage.beta.bakeSeconds": "1" }, "names no configured stage (stages: canary, fleet)"],
    [{ "edge-mlops:stage.canary.color": "1" }, "names no stage field"],
    [
      { "edge-mlops:targets": "linux-arm64,jetson" },
      "unknown: jetson; configured: linux-x86-64, linux-arm64",
    ],
    [{ "edge-mlops:packagingStrategy": "zip" }, "must be one of component, edge-packaging-job"],
    [{ "edge-mlops:target.linux-arm64.framework": "CAFFE" }, "must be one of TENSORFLOW"],
    [{ "edge-mlops:deploy": "now" }, 'CustomerMetadataProperties["edge-mlops:deploy"] is not a known key'],
    [
      { "edge-mlops:stage.canary.timeoutSeconds": "100" },
      "timeoutSeconds must be greater than bakeSeconds (300)",
    ],
  ])("rejects bad metadata with the key in the message: %#", (metadata, message) => {
    expect(messageOf(() => applyPackageOverrides(group, metadata))).toContain(message);
  });
});
