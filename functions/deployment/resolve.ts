import {
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  type SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { applyPackageOverrides } from "../../config/overrides.ts";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import { ConfigValidationError } from "../../config/validate.ts";
import { sageMaker as defaultSageMaker } from "../shared/clients.ts";
import { InvalidInputError, ModelPackageNotApprovedError, NoApprovedModelPackageError } from "./errors.ts";
import { parseDeploymentRequest } from "./input.ts";
import { componentVersionFor, parseModelPackageArn, sageMakerJobName } from "./names.ts";
import type { DeploymentPlan, PlannedTarget } from "./plan.ts";

export interface ResolveEvent {
  input: unknown;
  executionName: string;
  /** Poll intervals from the definition substitutions; strings because substitutions are text. */
  pollSeconds: { compilation: string | number; packaging: string | number; rollout: string | number };
}

export interface ResolveDeps {
  config: EdgeMlopsConfig;
  artifactBucket: string;
  sageMaker?: SageMakerClient;
}

const DEFAULT_COMPILATION_TIMEOUT = 3600;
const DEFAULT_PACKAGING_TIMEOUT = 1800;

function pollSeconds(value: string | number, name: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 3600)
    throw new InvalidInputError(
      `poll interval ${name} must be an integer number of seconds 0–3600 (got ${JSON.stringify(value)})`,
    );
  return n;
}

/**
 * First state: validates the input, finds and checks the model package, and merges the group's
 * configuration with the package's `edge-mlops:` metadata into the plan every later state follows.
 */
export async function resolveModelPackage(
  event: ResolveEvent,
  deps: ResolveDeps,
): Promise<{ plan: DeploymentPlan }> {
  const sageMaker = deps.sageMaker ?? defaultSageMaker;
  const request = parseDeploymentRequest(event.input);
  const groupName =
    request.modelPackageGroupName ?? parseModelPackageArn(request.modelPackageArn as string)?.group;
  const baseGroup = deps.config.groups.find((g) => g.modelPackageGroupName === groupName);
  if (!baseGroup)
    throw new InvalidInputError(
      `model package group ${groupName} is not configured; configured groups: ${deps.config.groups.map((g) => g.modelPackageGroupName).join(", ")}`,
    );

  let arn = request.modelPackageArn;
  if (!arn) {
    const listed = await sageMaker.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: baseGroup.modelPackageGroupName,
        ModelApprovalStatus: "Approved",
        SortBy: "CreationTime",
        SortOrder: "Descending",
        MaxResults: 1,
      }),
    );
    arn = listed.ModelPackageSummaryList?.[0]?.ModelPackageArn;
    if (!arn) throw new NoApprovedModelPackageError(baseGroup.modelPackageGroupName);
  }

  const pkg = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  const status = pkg.ModelApprovalStatus ?? "PendingManualApproval";
  if (status !== "Approved" && !request.force) throw new ModelPackageNotApprovedError(arn, status);
  const version = pkg.ModelPackageVersion ?? parseModelPackageArn(arn)?.version;
  if (version === undefined)
    throw new InvalidInputError(`model package ${arn} has no version; only versioned packages deploy`);

  let group: typeof baseGroup;
  try {
    group = applyPackageOverrides(baseGroup, pkg.CustomerMetadataProperties);
  } catch (error) {
    if (error instanceof ConfigValidationError)
      throw new InvalidInputError(`model package ${arn} metadata: ${error.message}`, { cause: error });
    throw error;
  }

  let targets = group.targets;
  if (request.targets) {
    const known = group.targets.map((t) => t.name);
    request.targets.forEach((name, i) => {
      if (!known.includes(name))
        throw new InvalidInputError(
          `input.targets[${i}] "${name}" is not a target of group ${group.modelPackageGroupName} for this package (targets: ${known.join(", ")})`,
        );
    });
    targets = group.targets.filter((t) => request.targets?.includes(t.name));
  }

  const container = pkg.InferenceSpecification?.Containers?.[0];
  const packageFramework = container?.Framework?.toUpperCase();
  const packageInput = container?.ModelInput?.DataInputConfig;
  // Neo can read framework and input shape from the package itself; a target that overrides either needs InputConfig.
  const compileFromPackage =
    packageFramework !== undefined &&
    packageInput !== undefined &&
    targets.every((t) => t.dataInputConfig === undefined || t.dataInputConfig === packageInput);
  if (!compileFromPackage && !container?.ModelDataUrl)
    throw new InvalidInputError(`model package ${arn} has no ModelDataUrl to compile from`);

  const planned: PlannedTarget[] = targets.map((t, i) => {
    const framework = t.framework ?? packageFramework;
    const dataInputConfig = t.dataInputConfig ?? packageInput;
    if (!framework || !dataInputConfig)
      throw new InvalidInputError(
        `target ${t.name} (groups[${deps.config.groups.indexOf(baseGroup)}].targets[${i}]) needs framework and dataInputConfig: the model package does not say them`,
      );
    return {
      ...t,
      framework,
      dataInputConfig,
      compilationJobName: sageMakerJobName(group.modelPackageGroupName, version, t.name),
      compilationOutputUri: `s3://${deps.artifactBucket}/compiled/${group.modelPackageGroupName}/${version}/${t.name}/`,
    };
  });

  const compilationSeconds = pollSeconds(event.pollSeconds.compilation, "CompilationPollSeconds");
  const packagingSeconds = pollSeconds(event.pollSeconds.packaging, "PackagingPollSeconds");
  const compilationTimeoutSeconds = group.compilationTimeoutSeconds ?? DEFAULT_COMPILATION_TIMEOUT;
  const packagingTimeout = group.packagingTimeoutSeconds ?? DEFAULT_PACKAGING_TIMEOUT;
  return {
    plan: {
      executionName: event.executionName,
      trigger: request.trigger,
      forced: request.force && status !== "Approved",
      modelPackageArn: arn,
      modelPackageGroupName: group.modelPackageGroupName,
      modelPackageVersion: version,
      approvalStatus: status,
      compileFromPackage,
      ...(container?.ModelDataUrl ? { modelDataUrl: container.ModelDataUrl } : {}),
      componentName: group.componentName,
      componentVersion: componentVersionFor(version),
      inferenceComponentName: group.inferenceComponentName,
      inferenceComponentVersionRequirement: group.inferenceComponentVersionRequirement,
      packagingStrategy: group.packagingStrategy,
      compilationTimeoutSeconds,
      targets: planned,
      stages: group.stages,
      poll: {
        // A zero interval (tests, local runs) still gets a finite bound.
        compilation: {
          seconds: compilationSeconds,
          maxPolls: Math.ceil(compilationTimeoutSeconds / Math.max(compilationSeconds, 1)) + 1,
        },
        packaging: {
          seconds: packagingSeconds,
          maxPolls: Math.ceil(packagingTimeout / Math.max(packagingSeconds, 1)) + 1,
        },
        rollout: { seconds: pollSeconds(event.pollSeconds.rollout, "RolloutPollSeconds") },
      },
    },
  };
}
