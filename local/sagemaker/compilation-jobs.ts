import { FRAMEWORKS } from "../../config/validate.ts";
import type { Faults } from "../faults.ts";
import { type LocalContext, type ObjectStoreApi, validation } from "../server/types.ts";
import { CompilationFailedError, compile } from "./compiler.ts";
import { type JobKind, type JobStatus, type JobTimings, SimulatedJobs } from "./job-lifecycle.ts";
import type { ModelRegistry } from "./registry.ts";
import { parseS3Uri } from "./s3-uri.ts";
import { epoch, oneOf, paginate, requireName, requireString, sortBy, timestampInput } from "./shapes.ts";

type Json = Record<string, unknown>;
// In SageMaker's order for the enum error message.
const statuses: readonly JobStatus[] = [
  "INPROGRESS",
  "COMPLETED",
  "FAILED",
  "STARTING",
  "STOPPING",
  "STOPPED",
];

export interface CompilationJobRecord {
  CompilationJobName: string;
  CompilationJobArn: string;
  CompilationJobStatus: JobStatus;
  CreationTime: string;
  LastModifiedTime: string;
  CompilationStartTime?: string;
  CompilationEndTime?: string;
  FailureReason?: string;
  RoleArn: string;
  InputConfig?: Json;
  OutputConfig: Json;
  StoppingCondition: Json;
  ModelPackageVersionArn?: string;
  ModelArtifacts?: { S3ModelArtifacts: string };
  ModelDigests?: { ArtifactDigest: string };
  InferenceImage?: string;
  Tags?: unknown[];
}

export type { JobTimings } from "./job-lifecycle.ts";

export const defaultCompilationTimings: JobTimings = { startingSeconds: 5, minimumRunSeconds: 40 };

const compilationJob: JobKind<CompilationJobRecord> = {
  noun: "Compilation job",
  nameMember: "CompilationJobName",
  stateFile: "compilation-jobs.json",
  nameOf: (job) => job.CompilationJobName,
  statusOf: (job) => job.CompilationJobStatus,
  status: (status) => ({ CompilationJobStatus: status }),
  stamps: (status, now) =>
    status === "INPROGRESS"
      ? { CompilationStartTime: now }
      : status === "COMPLETED" || status === "FAILED" || status === "STOPPED"
        ? { CompilationEndTime: now }
        : {},
  failure: (reason) => ({ FailureReason: reason }),
  began: (job) => Date.parse(job.CompilationStartTime ?? job.CreationTime),
};

/** Compilation jobs (lifecycle in job-lifecycle.ts): the model compiled for the target by the local compiler. */
export class CompilationJobs extends SimulatedJobs<CompilationJobRecord> {
  constructor(
    context: LocalContext,
    private readonly registry: ModelRegistry,
    private readonly store: ObjectStoreApi,
    private readonly faults: Faults,
    timings: JobTimings = defaultCompilationTimings,
  ) {
    super(context, compilationJob, timings);
  }

  create(input: Json) {
    const name = requireName(input.CompilationJobName, "compilationJobName");
    const roleArn = requireString(input.RoleArn, "roleArn");
    const output = input.OutputConfig as Json | undefined;
    if (!output || typeof output !== "object") throw validation("OutputConfig is required");
    parseS3Uri(
      requireString(output.S3OutputLocation, "outputConfig.s3OutputLocation"),
      "OutputConfig.S3OutputLocation",
    );
    if ((output.TargetDevice === undefined) === (output.TargetPlatform === undefined))
      throw validation("OutputConfig must specify exactly one of TargetDevice and TargetPlatform");
    if (!input.StoppingCondition || typeof input.StoppingCondition !== "object")
      throw validation("StoppingCondition is required");
    const inputConfig = input.InputConfig as Json | undefined;
    if (inputConfig) {
      parseS3Uri(requireString(inputConfig.S3Uri, "inputConfig.s3Uri"), "InputConfig.S3Uri");
      oneOf(
        requireString(inputConfig.Framework, "inputConfig.framework"),
        "inputConfig.framework",
        FRAMEWORKS,
      );
    } else if (input.ModelPackageVersionArn === undefined) {
      throw validation("InputConfig is required unless ModelPackageVersionArn is given");
    }
    if (input.ModelPackageVersionArn !== undefined) this.registry.package(input.ModelPackageVersionArn);

    const now = this.context.clock.now().toISOString();
    const job: CompilationJobRecord = {
      CompilationJobName: name,
      CompilationJobArn: `arn:aws:sagemaker:${this.context.region}:${this.context.accountId}:compilation-job/${name.toLowerCase()}`,
      CompilationJobStatus: "STARTING",
      CreationTime: now,
      LastModifiedTime: now,
      RoleArn: roleArn,
      OutputConfig: output,
      StoppingCondition: input.StoppingCondition as Json,
      ...(inputConfig ? { InputConfig: inputConfig } : {}),
      ...(typeof input.ModelPackageVersionArn === "string"
        ? { ModelPackageVersionArn: input.ModelPackageVersionArn }
        : {}),
      ...(Array.isArray(input.Tags) ? { Tags: input.Tags } : {}),
    };
    this.insert(job);
    return { CompilationJobArn: job.CompilationJobArn };
  }

  describe(input: Json) {
    const j = this.find(input);
    const { Tags: _tags, ...rest } = j;
    return {
      ...rest,
      CreationTime: epoch(j.CreationTime),
      LastModifiedTime: epoch(j.LastModifiedTime),
      CompilationStartTime: epoch(j.CompilationStartTime),
      CompilationEndTime: epoch(j.CompilationEndTime),
    };
  }

  list(input: Json) {
    const created = [
      timestampInput(input.CreationTimeAfter, "CreationTimeAfter"),
      timestampInput(input.CreationTimeBefore, "CreationTimeBefore"),
    ];
    const modified = [
      timestampInput(input.LastModifiedTimeAfter, "LastModifiedTimeAfter"),
      timestampInput(input.LastModifiedTimeBefore, "LastModifiedTimeBefore"),
    ];
    const status = oneOf(input.StatusEquals, "statusEquals", statuses);
    const by = oneOf(input.SortBy, "sortBy", ["Name", "CreationTime", "Status"] as const) ?? "CreationTime";
    const order = oneOf(input.SortOrder, "sortOrder", ["Ascending", "Descending"] as const) ?? "Ascending";
    const contains = typeof input.NameContains === "string" ? input.NameContains.toLowerCase() : undefined;
    const inRange = (iso: string, [after, before]: (number | undefined)[]) =>
      (after === undefined || Date.parse(iso) > after) && (before === undefined || Date.parse(iso) < before);
    const jobs = this.all().filter(
      (j) =>
        (!status || j.CompilationJobStatus === status) &&
        (!contains || j.CompilationJobName.toLowerCase().includes(contains)) &&
        inRange(j.CreationTime, created) &&
        inRange(j.LastModifiedTime, modified),
    );
    const key = (j: CompilationJobRecord) =>
      by === "Name" ? j.CompilationJobName : by === "Status" ? j.CompilationJobStatus : j.CreationTime;
    const { page, NextToken } = paginate(sortBy(jobs, key, order), input.MaxResults, input.NextToken);
    return {
      CompilationJobSummaries: page.map((j) => {
        const platform = j.OutputConfig.TargetPlatform as Json | undefined;
        return {
          CompilationJobName: j.CompilationJobName,
          CompilationJobArn: j.CompilationJobArn,
          CreationTime: epoch(j.CreationTime),
          CompilationStartTime: epoch(j.CompilationStartTime),
          CompilationEndTime: epoch(j.CompilationEndTime),
          CompilationTargetDevice: j.OutputConfig.TargetDevice,
          CompilationTargetPlatformOs: platform?.Os,
          CompilationTargetPlatformArch: platform?.Arch,
          CompilationTargetPlatformAccelerator: platform?.Accelerator,
          LastModifiedTime: epoch(j.LastModifiedTime),
          CompilationJobStatus: j.CompilationJobStatus,
        };
      }),
      NextToken,
    };
  }

  protected async work(job: CompilationJobRecord): Promise<Partial<CompilationJobRecord>> {
    const forced = this.faults.jobFailure("compilation", job.CompilationJobName);
    if (forced) throw new CompilationFailedError(forced);
    const source = this.source(job);
    const target =
      (job.OutputConfig.TargetDevice as string | undefined) ??
      platformName(job.OutputConfig.TargetPlatform as Json);
    const result = await compile(
      {
        jobName: job.CompilationJobName,
        model: parseS3Uri(source.uri, "S3Uri"),
        framework: source.framework,
        ...(source.dataInputConfig ? { dataInputConfig: source.dataInputConfig } : {}),
        output: parseS3Uri(job.OutputConfig.S3OutputLocation as string, "S3OutputLocation"),
        target,
      },
      this.store,
    );
    return {
      CompilationJobStatus: "COMPLETED",
      ModelArtifacts: { S3ModelArtifacts: `s3://${result.artifact.bucket}/${result.artifact.key}` },
      ModelDigests: { ArtifactDigest: result.digest },
      InferenceImage: "edge-mlops-local/onnxruntime",
    };
  }

  /** Model location, framework and input shapes: from InputConfig, else from the model package's first container. */
  private source(job: CompilationJobRecord): { uri: string; framework: string; dataInputConfig?: string } {
    const container = job.ModelPackageVersionArn
      ? ((
          this.registry.package(job.ModelPackageVersionArn).InferenceSpecification?.Containers as
            | Json[]
            | undefined
        )?.[0] ?? {})
      : {};
    const input = job.InputConfig ?? {};
    const uri = (input.S3Uri ?? container.ModelDataUrl) as string | undefined;
    const framework = (input.Framework ?? container.Framework) as string | undefined;
    if (!uri)
      throw new CompilationFailedError(
        "ClientError: InputConfiguration: no model location (InputConfig.S3Uri or the package's ModelDataUrl)",
      );
    if (!framework)
      throw new CompilationFailedError(
        "ClientError: InputConfiguration: no Framework (InputConfig.Framework or the package's container Framework)",
      );
    const dataInputConfig = (input.DataInputConfig ??
      (container.ModelInput as Json | undefined)?.DataInputConfig) as string | undefined;
    return { uri, framework, ...(dataInputConfig ? { dataInputConfig } : {}) };
  }
}

const platformName = (p: Json | undefined) =>
  p
    ? [p.Os, p.Arch, p.Accelerator]
        .filter((x) => typeof x === "string")
        .join("_")
        .toLowerCase()
    : "unknown";
