import type { EdgeMlopsConfig } from "./config/types.ts";

/**
 * The project's configuration: which model package groups to watch, how to compile, package and
 * roll out each. Validated at synth by `config/validate.ts`; a model package may override some
 * values through its `CustomerMetadataProperties` (see README, "Configuration").
 */
const config: EdgeMlopsConfig = {
  groups: [
    {
      modelPackageGroupName: "edge-mlops-example-classifier",
      componentName: "com.edgemlops.models.ExampleClassifier",
      inferenceComponentName: "com.edgemlops.InferenceRuntime",
      inferenceComponentVersionRequirement: ">=1.0.0 <2.0.0",
      packagingStrategy: "component",
      targets: [
        {
          name: "linux-x86-64",
          targetPlatform: { Os: "LINUX", Arch: "X86_64" },
          framework: "ONNX",
          dataInputConfig: '{"input":[1,16]}',
          greengrassPlatform: { os: "linux", architecture: "amd64" },
        },
        {
          name: "linux-arm64",
          targetPlatform: { Os: "LINUX", Arch: "ARM64" },
          framework: "ONNX",
          dataInputConfig: '{"input":[1,16]}',
          greengrassPlatform: { os: "linux", architecture: "aarch64" },
        },
      ],
      stages: [
        {
          name: "canary",
          targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/canary",
          successThresholdPercent: 100,
          maxFailures: 0,
          bakeSeconds: 300,
          timeoutSeconds: 1800,
          maximumPerMinute: 10,
          abortThresholdPercent: 50,
          abortMinNumberOfExecutedThings: 1,
          inProgressTimeoutMinutes: 15,
        },
        {
          name: "fleet",
          targetArn: "arn:aws:iot:us-east-1:000000000000:thinggroup/fleet",
          successThresholdPercent: 95,
          maxFailures: 5,
          bakeSeconds: 600,
          timeoutSeconds: 7200,
          maximumPerMinute: 100,
          abortThresholdPercent: 10,
          abortMinNumberOfExecutedThings: 10,
          inProgressTimeoutMinutes: 30,
        },
      ],
    },
  ],
  redeploySchedule: "cron(0 3 * * ? *)",
  capturePrefix: "capture",
  driftSchedule: "rate(1 hour)",
  driftWindowHours: 24,
};

export default config;
