import { greengrassPlatformOf } from "../../config/validate.ts";
import type { DeploymentPlan, PlannedTarget } from "./plan.ts";

export interface RecipeArtifactInput {
  target: PlannedTarget;
  uri: string;
  sha256: string;
}

export interface Recipe {
  RecipeFormatVersion: "2020-01-25";
  ComponentName: string;
  ComponentVersion: string;
  ComponentType: "aws.greengrass.generic";
  ComponentDescription: string;
  ComponentPublisher: string;
  ComponentConfiguration: { DefaultConfiguration: Record<string, unknown> };
  ComponentDependencies: Record<string, { VersionRequirement: string; DependencyType: "HARD" | "SOFT" }>;
  Manifests: {
    Name: string;
    Platform: { os: string; architecture?: string };
    Lifecycle: Record<string, unknown>;
    Artifacts: {
      Uri: string;
      Digest: string;
      Algorithm: "SHA-256";
      Unarchive: "ZIP" | "NONE";
      Permission: { Read: "OWNER" | "ALL"; Execute: "NONE" };
    }[];
  }[];
}

/** File name of the model inside every manifest's artifact: the same on each platform, so configuration stays platform-free. */
export function artifactFileName(sourceUri: string): string {
  return sourceUri.toLowerCase().endsWith(".zip") ? "model.zip" : "model.tar.gz";
}

/**
 * The Greengrass recipe of the model component: one manifest per target platform, each with its
 * compiled artifact and digest; ZIP archives are unpacked by the nucleus, tarballs by the install
 * step into the component's work folder (the nucleus unpacks only ZIP).
 */
export function buildRecipe(plan: DeploymentPlan, artifacts: RecipeArtifactInput[]): Recipe {
  const first = artifacts[0];
  const fileName = first ? artifactFileName(first.uri) : "model.tar.gz";
  const zip = fileName.endsWith(".zip");
  return {
    RecipeFormatVersion: "2020-01-25",
    ComponentName: plan.componentName,
    ComponentVersion: plan.componentVersion,
    ComponentType: "aws.greengrass.generic",
    ComponentDescription: `${plan.modelPackageGroupName} version ${plan.modelPackageVersion}, compiled by SageMaker Neo for ${artifacts.map((a) => a.target.name).join(", ")}`,
    ComponentPublisher: "edge-mlops",
    ComponentConfiguration: {
      DefaultConfiguration: {
        ModelName: plan.modelPackageGroupName,
        ModelVersion: String(plan.modelPackageVersion),
        ModelPackageArn: plan.modelPackageArn,
        ModelArchive: fileName,
        // Relative to this component's work folder (tarballs) or decompressed artifacts folder (ZIP).
        ModelDirectory: "model",
        ModelLocation: zip ? "decompressedArtifacts" : "work",
        Framework: first?.target.framework ?? "",
        InputShape: JSON.parse(first?.target.dataInputConfig ?? "{}"),
      },
    },
    ComponentDependencies: {
      [plan.inferenceComponentName]: {
        VersionRequirement: plan.inferenceComponentVersionRequirement,
        DependencyType: "HARD",
      },
    },
    Manifests: artifacts.map(({ target, uri, sha256 }) => ({
      Name: target.name,
      Platform: greengrassPlatformOf(target) ?? { os: "*" },
      Lifecycle: zip
        ? {}
        : {
            Install: {
              Script: `mkdir -p {work:path}/model && tar -xzf {artifacts:path}/${fileName} -C {work:path}/model`,
            },
          },
      Artifacts: [
        {
          Uri: uri,
          Digest: sha256,
          Algorithm: "SHA-256",
          Unarchive: zip ? "ZIP" : "NONE",
          Permission: { Read: "ALL", Execute: "NONE" },
        },
      ],
    })),
  };
}
