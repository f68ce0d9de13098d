import type { EdgeMlopsConfig } from "../../config/types.ts";
import { loadConfig } from "../../config/validate.ts";

const stage = (name: string, group: string) => ({
  name,
  targetArn: `arn:aws:iot:us-east-1:111122223333:thinggroup/${group}`,
  successThresholdPercent: 100,
  maxFailures: 0,
  bakeSeconds: 60,
  timeoutSeconds: 900,
});

/**
 * Two groups, one per packaging strategy, so every permission branch is synthesized; no
 * `sageMakerRoleArn`, so the stack creates the SageMaker role; a redeploy schedule.
 */
export const stackTestConfig: EdgeMlopsConfig = loadConfig({
  groups: [
    {
      modelPackageGroupName: "Defect-Classifier",
      componentName: "com.example.models.DefectClassifier",
      inferenceComponentName: "com.example.Inference",
      inferenceComponentVersionRequirement: ">=1.0.0 <2.0.0",
      packagingStrategy: "component",
      targets: [
        {
          name: "jetson",
          targetDevice: "jetson_xavier",
          framework: "ONNX",
          dataInputConfig: '{"input":[1,16]}',
          greengrassPlatform: { os: "linux", architecture: "aarch64" },
        },
        {
          name: "x86",
          targetPlatform: { Os: "LINUX", Arch: "X86_64" },
          framework: "ONNX",
          dataInputConfig: '{"input":[1,16]}',
          greengrassPlatform: { os: "linux", architecture: "amd64" },
        },
      ],
      stages: [stage("canary", "canary-devices"), stage("fleet", "all-devices")],
    },
    {
      modelPackageGroupName: "legacy-detector",
      componentName: "com.example.models.LegacyDetector",
      inferenceComponentName: "com.example.Inference",
      inferenceComponentVersionRequirement: ">=1.0.0 <2.0.0",
      packagingStrategy: "edge-packaging-job",
      targets: [
        {
          name: "x86",
          targetPlatform: { Os: "LINUX", Arch: "X86_64" },
          framework: "ONNX",
          dataInputConfig: '{"input":[1,16]}',
        },
      ],
      stages: [stage("fleet", "legacy-devices")],
    },
  ],
  redeploySchedule: "cron(0 3 * * ? *)",
  capturePrefix: "capture",
  driftSchedule: "rate(1 hour)",
  driftWindowHours: 24,
});
