import {
  CreateComponentVersionCommand,
  DescribeComponentCommand,
  GetComponentCommand,
  type GreengrassV2Client,
} from "@aws-sdk/client-greengrassv2";
import type { S3Client } from "@aws-sdk/client-s3";
import {
  CreateEdgePackagingJobCommand,
  DescribeEdgePackagingJobCommand,
  type SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { greengrassPlatformOf } from "../../config/validate.ts";
import {
  greengrass as defaultGreengrass,
  s3 as defaultS3,
  sageMaker as defaultSageMaker,
} from "../shared/clients.ts";
import { errorName } from "../shared/errors.ts";
import { logger } from "../shared/handler.ts";
import { stageArtifact } from "./artifact.ts";
import { PackagingFailedError, PollLimitError } from "./errors.ts";
import { clientToken, sageMakerJobName } from "./names.ts";
import type { CompiledTarget, DeploymentPlan, PackagedComponent, PackagingState } from "./plan.ts";
import { artifactFileName, buildRecipe, type Recipe } from "./recipe.ts";

export interface PackagingEvent {
  plan: DeploymentPlan;
  compiled: CompiledTarget[];
  packaging?: PackagingState;
}

export interface PackagingDeps {
  artifactBucket: string;
  roleArn: string;
  s3?: S3Client;
  greengrass?: GreengrassV2Client;
  sageMaker?: SageMakerClient;
}

/** arn:<partition>:greengrass:<region>:<account>:components:<name>:versions:<version>, in the registry's account and region. */
export function componentVersionArn(plan: DeploymentPlan, name: string, version: string): string {
  const [, partition, , region, account] = plan.modelPackageArn.split(":");
  return `arn:${partition}:greengrass:${region}:${account}:components:${name}:versions:${version}`;
}

/** Artifact key: one folder per component version and target, so versions never overwrite each other. */
export function artifactKey(plan: DeploymentPlan, target: string, sourceUri: string): string {
  return `components/${plan.componentName}/${plan.componentVersion}/${target}/${artifactFileName(sourceUri)}`;
}

const digests = (recipe: Pick<Recipe, "Manifests">) =>
  recipe.Manifests.flatMap((m) => m.Artifacts.map((a) => `${a.Uri}#${a.Digest}`))
    .sort()
    .join(",");

async function packageAsComponent(event: PackagingEvent, deps: PackagingDeps): Promise<PackagingState> {
  const { plan } = event;
  const s3 = deps.s3 ?? defaultS3;
  const greengrass = deps.greengrass ?? defaultGreengrass;
  const artifacts = [];
  for (const { target, compilation } of event.compiled) {
    const staged = await stageArtifact(
      s3,
      compilation.artifactUri,
      deps.artifactBucket,
      artifactKey(plan, target.name, compilation.artifactUri),
    );
    artifacts.push({ target, uri: staged.uri, sha256: staged.sha256 });
  }
  const recipe = buildRecipe(plan, artifacts);
  const arn = componentVersionArn(plan, plan.componentName, plan.componentVersion);
  try {
    await greengrass.send(
      new CreateComponentVersionCommand({
        inlineRecipe: new TextEncoder().encode(JSON.stringify(recipe)),
        clientToken: clientToken(plan.componentName, plan.componentVersion, digests(recipe)),
        tags: { "edge-mlops:model-package-arn": plan.modelPackageArn },
      }),
    );
  } catch (error) {
    if (errorName(error) !== "ConflictException") throw error;
    // The version exists: adopt it only if it carries exactly our artifacts, else a re-run would ship other bytes.
    const existing = await greengrass.send(new GetComponentCommand({ arn, recipeOutputFormat: "JSON" }));
    const existingRecipe = JSON.parse(new TextDecoder().decode(existing.recipe)) as Recipe;
    if (digests(existingRecipe) !== digests(recipe))
      throw new PackagingFailedError(
        `component ${plan.componentName} ${plan.componentVersion} already exists with different artifacts; delete it or publish a new model package version`,
        { cause: error },
      );
    logger.info("adopting existing component version", { arn });
  }
  return {
    strategy: "component",
    status: "IN_PROGRESS",
    polls: 0,
    components: [
      {
        componentName: plan.componentName,
        componentVersion: plan.componentVersion,
        componentVersionArn: arn,
      },
    ],
    artifacts: artifacts.map((a) => ({ target: a.target.name, uri: a.uri, sha256: a.sha256 })),
  };
}

/** Legacy: one SageMaker edge packaging job per target, each producing its own Greengrass component. */
async function packageWithEdgePackagingJobs(
  event: PackagingEvent,
  deps: PackagingDeps,
): Promise<PackagingState> {
  const { plan } = event;
  const sageMaker = deps.sageMaker ?? defaultSageMaker;
  if (!deps.roleArn)
    throw new PackagingFailedError("edge-packaging-job needs SAGEMAKER_ROLE_ARN (the role the job runs as)");
  const jobs = [];
  for (const { target, compilation } of event.compiled) {
    const jobName = sageMakerJobName(
      plan.modelPackageGroupName,
      plan.modelPackageVersion,
      target.name,
      "pkg",
    );
    const componentName =
      event.compiled.length > 1 ? `${plan.componentName}-${target.name}` : plan.componentName;
    const platform = greengrassPlatformOf(target);
    try {
      await sageMaker.send(
        new CreateEdgePackagingJobCommand({
          EdgePackagingJobName: jobName,
          CompilationJobName: compilation.jobName,
          ModelName: plan.modelPackageGroupName,
          ModelVersion: plan.componentVersion,
          RoleArn: deps.roleArn,
          OutputConfig: {
            S3OutputLocation: `s3://${deps.artifactBucket}/edge-packaging/${plan.modelPackageGroupName}/${plan.modelPackageVersion}/${target.name}/`,
            PresetDeploymentType: "GreengrassV2Component",
            PresetDeploymentConfig: JSON.stringify({
              ComponentName: componentName,
              ComponentDescription: `${plan.modelPackageGroupName} version ${plan.modelPackageVersion} for ${target.name}`,
              ComponentVersion: plan.componentVersion,
              ...(platform ? { PlatformOS: platform.os, PlatformArchitecture: platform.architecture } : {}),
            }),
          },
          Tags: [{ Key: "edge-mlops:model-package-arn", Value: plan.modelPackageArn }],
        }),
      );
    } catch (error) {
      if (errorName(error) !== "ResourceInUse") throw error;
      logger.info("adopting existing edge packaging job", { jobName });
    }
    jobs.push({ target: target.name, jobName, componentName, status: "STARTING" });
  }
  return { strategy: "edge-packaging-job", status: "IN_PROGRESS", polls: 0, components: [], jobs };
}

/** Starts packaging with the plan's strategy; idempotent (deterministic names, adoption of what exists). */
export async function startPackaging(event: PackagingEvent, deps: PackagingDeps): Promise<PackagingState> {
  if (event.compiled.length === 0)
    throw new PackagingFailedError("nothing was compiled: the plan has no targets");
  return event.plan.packagingStrategy === "edge-packaging-job"
    ? packageWithEdgePackagingJobs(event, deps)
    : packageAsComponent(event, deps);
}

function bound(event: PackagingEvent, state: PackagingState, what: string): PackagingState {
  const polls = state.polls + 1;
  const { seconds, maxPolls } = event.plan.poll.packaging;
  if (state.status !== "DEPLOYABLE" && polls >= maxPolls) throw new PollLimitError(what, polls, seconds);
  return { ...state, polls };
}

/** One poll of whatever StartPackaging started: DEPLOYABLE when every component can be deployed. */
export async function checkPackaging(
  event: PackagingEvent,
  deps: Omit<PackagingDeps, "artifactBucket" | "roleArn">,
): Promise<PackagingState> {
  const state = event.packaging;
  if (!state) throw new TypeError("checkPackaging needs the state StartPackaging produced");
  if (state.strategy === "component") {
    const greengrass = deps.greengrass ?? defaultGreengrass;
    const component = state.components[0] as PackagedComponent;
    const described = await greengrass.send(
      new DescribeComponentCommand({ arn: component.componentVersionArn }),
    );
    const componentState = described.status?.componentState;
    if (componentState === "FAILED") {
      const details = Object.entries(described.status?.errors ?? {})
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ");
      throw new PackagingFailedError(
        `component ${component.componentName} ${component.componentVersion} FAILED: ${described.status?.message ?? "no message"}${details ? ` (${details})` : ""}`,
      );
    }
    const next: PackagingState = {
      ...state,
      status: componentState === "DEPLOYABLE" ? "DEPLOYABLE" : "IN_PROGRESS",
    };
    return bound(
      event,
      next,
      `component ${component.componentName} ${component.componentVersion} (${componentState ?? "unknown"})`,
    );
  }

  const sageMaker = deps.sageMaker ?? defaultSageMaker;
  const jobs = [];
  const components: PackagedComponent[] = [];
  for (const job of state.jobs ?? []) {
    const described = await sageMaker.send(
      new DescribeEdgePackagingJobCommand({ EdgePackagingJobName: job.jobName }),
    );
    const status = described.EdgePackagingJobStatus ?? "STARTING";
    if (status === "FAILED" || status === "STOPPED" || status === "STOPPING")
      throw new PackagingFailedError(
        `edge packaging job ${job.jobName} ${status}: ${described.EdgePackagingJobStatusMessage ?? "no message"}`,
      );
    if (status === "COMPLETED") {
      const output = described.PresetDeploymentOutput;
      if (output?.Status === "FAILED" || !output?.Artifact)
        throw new PackagingFailedError(
          `edge packaging job ${job.jobName} produced no Greengrass component: ${output?.StatusMessage ?? "no PresetDeploymentOutput.Artifact"}`,
        );
      const match = /:components:([^:]+):versions:([^:]+)$/.exec(output.Artifact);
      components.push({
        componentName: match?.[1] ?? job.componentName,
        componentVersion: match?.[2] ?? event.plan.componentVersion,
        componentVersionArn: output.Artifact,
      });
    }
    jobs.push({ ...job, status });
  }
  const done = jobs.every((j) => j.status === "COMPLETED");
  const next: PackagingState = {
    ...state,
    jobs,
    components: done ? components : [],
    status: done ? "DEPLOYABLE" : "IN_PROGRESS",
  };
  return bound(
    event,
    next,
    `edge packaging jobs (${jobs.map((j) => `${j.jobName}: ${j.status}`).join(", ")})`,
  );
}
