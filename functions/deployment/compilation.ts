import {
  CreateCompilationJobCommand,
  type CreateCompilationJobCommandInput,
  DescribeCompilationJobCommand,
  type SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { sageMaker as defaultSageMaker } from "../shared/clients.ts";
import { errorName } from "../shared/errors.ts";
import { logger } from "../shared/handler.ts";
import { CompilationFailedError, PollLimitError } from "./errors.ts";
import type { CompilationState } from "./plan.ts";

export interface CompilationDeps {
  roleArn: string;
  sageMaker?: SageMakerClient;
}

/** The exact CreateCompilationJob request for one target (exported for tests and the CLI's dry run). */
export function compilationJobRequest(
  state: CompilationState,
  roleArn: string,
): CreateCompilationJobCommandInput {
  const { plan, target } = state;
  return {
    CompilationJobName: target.compilationJobName,
    RoleArn: roleArn,
    // Neo refuses a request that has both; the package carries framework and input shape when it can.
    ...(plan.compileFromPackage
      ? { ModelPackageVersionArn: plan.modelPackageArn }
      : {
          InputConfig: {
            S3Uri: plan.modelDataUrl as string,
            Framework: target.framework as NonNullable<
              CreateCompilationJobCommandInput["InputConfig"]
            >["Framework"],
            DataInputConfig: target.dataInputConfig,
          },
        }),
    OutputConfig: {
      S3OutputLocation: target.compilationOutputUri,
      ...(target.targetDevice
        ? {
            TargetDevice: target.targetDevice as NonNullable<
              CreateCompilationJobCommandInput["OutputConfig"]
            >["TargetDevice"],
          }
        : { TargetPlatform: target.targetPlatform }),
      ...(target.compilerOptions ? { CompilerOptions: target.compilerOptions } : {}),
    },
    StoppingCondition: { MaxRuntimeInSeconds: plan.compilationTimeoutSeconds },
    Tags: [
      { Key: "edge-mlops:model-package-group", Value: plan.modelPackageGroupName },
      { Key: "edge-mlops:model-package-version", Value: String(plan.modelPackageVersion) },
      { Key: "edge-mlops:target", Value: target.name },
    ],
  };
}

/**
 * Starts the Neo job for one target. The name is deterministic, so a retry or a re-run of the same
 * package finds the job already there (ResourceInUse) and adopts it instead of failing.
 */
export async function startCompilation(
  state: CompilationState,
  deps: CompilationDeps,
): Promise<CompilationState> {
  const sageMaker = deps.sageMaker ?? defaultSageMaker;
  const jobName = state.target.compilationJobName;
  try {
    const created = await sageMaker.send(
      new CreateCompilationJobCommand(compilationJobRequest(state, deps.roleArn)),
    );
    return {
      ...state,
      compilation: {
        jobName,
        jobArn: created.CompilationJobArn,
        status: "STARTING",
        polls: 0,
        adopted: false,
      },
    };
  } catch (error) {
    if (errorName(error) !== "ResourceInUse") throw error;
    const existing = await sageMaker.send(new DescribeCompilationJobCommand({ CompilationJobName: jobName }));
    logger.info("adopting existing compilation job", { jobName, status: existing.CompilationJobStatus });
    return {
      ...state,
      compilation: {
        jobName,
        jobArn: existing.CompilationJobArn,
        status: existing.CompilationJobStatus ?? "STARTING",
        polls: 0,
        adopted: true,
        ...(existing.ModelArtifacts?.S3ModelArtifacts
          ? { artifactUri: existing.ModelArtifacts.S3ModelArtifacts }
          : {}),
      },
    };
  }
}

/**
 * One poll: COMPLETED carries the artifact on; FAILED/STOPPED end the branch with Neo's FailureReason;
 * anything else polls again until the plan's bound.
 */
export async function checkCompilation(
  state: CompilationState,
  deps: Pick<CompilationDeps, "sageMaker">,
): Promise<CompilationState> {
  const sageMaker = deps.sageMaker ?? defaultSageMaker;
  const current = state.compilation;
  if (!current) throw new TypeError("checkCompilation needs the state StartCompilation produced");
  const job = await sageMaker.send(
    new DescribeCompilationJobCommand({ CompilationJobName: current.jobName }),
  );
  const status = job.CompilationJobStatus ?? "STARTING";
  const polls = current.polls + 1;
  if (status === "FAILED" || status === "STOPPED")
    throw new CompilationFailedError(current.jobName, status, job.FailureReason);
  if (status === "COMPLETED") {
    const artifactUri = job.ModelArtifacts?.S3ModelArtifacts;
    if (!artifactUri)
      throw new CompilationFailedError(
        current.jobName,
        status,
        "job reports no ModelArtifacts.S3ModelArtifacts",
      );
    return { ...state, compilation: { ...current, status, polls, artifactUri } };
  }
  const { seconds, maxPolls } = state.plan.poll.compilation;
  if (polls >= maxPolls)
    throw new PollLimitError(`compilation job ${current.jobName} (${status})`, polls, seconds);
  return { ...state, compilation: { ...current, status, polls } };
}
