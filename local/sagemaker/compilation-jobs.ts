import { join } from "node:path";
import type { Faults } from "../faults.ts";
import { JsonState } from "../server/state.ts";
import { AwsError, type LocalContext, type ObjectStoreApi, validation } from "../server/types.ts";
import { CompilationFailedError, compile } from "./compiler.ts";
import type { ModelRegistry } from "./registry.ts";
import { parseS3Uri } from "./s3-uri.ts";
import { epoch, oneOf, paginate, requireName, requireString, sortBy, timestampInput } from "./shapes.ts";

type Json = Record<string, unknown>;
const frameworks = [
  "TENSORFLOW",
  "KERAS",
  "MXNET",
  "ONNX",
  "PYTORCH",
  "XGBOOST",
  "TFLITE",
  "DARKNET",
  "SKLEARN",
] as const;
const statuses = ["INPROGRESS", "COMPLETED", "FAILED", "STARTING", "STOPPING", "STOPPED"] as const;
type Status = (typeof statuses)[number];
const terminal = new Set<Status>(["COMPLETED", "FAILED", "STOPPED"]);

export interface CompilationJobRecord {
  CompilationJobName: string;
  CompilationJobArn: string;
  CompilationJobStatus: Status;
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

/** Clock seconds a job spends in each phase (Neo takes minutes; these keep the states observable). */
export interface JobTimings {
  startingSeconds: number;
  minimumRunSeconds: number;
}

export const defaultCompilationTimings: JobTimings = { startingSeconds: 5, minimumRunSeconds: 40 };

/** Compilation jobs: STARTING → INPROGRESS → COMPLETED | FAILED (| STOPPING → STOPPED) on the endpoint's clock. */
export class CompilationJobs {
  private readonly state: JsonState<{ jobs: Record<string, CompilationJobRecord> }>;
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly context: LocalContext,
    private readonly registry: ModelRegistry,
    private readonly store: ObjectStoreApi,
    private readonly faults: Faults,
    private readonly timings: JobTimings = defaultCompilationTimings,
  ) {
    this.state = new JsonState(join(context.stateDir, "compilation-jobs.json"), { jobs: {} });
  }

  /** Resumes jobs a previous run left unfinished. */
  resume(): void {
    for (const job of Object.values(this.state.data.jobs))
      if (!terminal.has(job.CompilationJobStatus)) this.start(job);
  }

  get(name: string): CompilationJobRecord | undefined {
    return this.state.data.jobs[name];
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
        frameworks,
      );
    } else if (input.ModelPackageVersionArn === undefined) {
      throw validation("InputConfig is required unless ModelPackageVersionArn is given");
    }
    if (input.ModelPackageVersionArn !== undefined) this.registry.package(input.ModelPackageVersionArn);
    if (this.state.data.jobs[name])
      throw new AwsError("ResourceInUse", `Compilation job ${name} already exists`, 400);

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
    this.state.data.jobs[name] = job;
    this.state.save();
    this.start(job);
    return { CompilationJobArn: job.CompilationJobArn };
  }

  private find(input: Json): CompilationJobRecord {
    const name = requireString(input.CompilationJobName, "compilationJobName");
    const job = this.state.data.jobs[name];
    if (!job) throw new AwsError("ResourceNotFound", `Could not find compilation job with name ${name}`, 400);
    return job;
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
    const jobs = Object.values(this.state.data.jobs).filter(
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

  stop(input: Json) {
    const job = this.find(input);
    if (terminal.has(job.CompilationJobStatus))
      throw validation(
        `Compilation job ${job.CompilationJobName} is ${job.CompilationJobStatus} and cannot be stopped`,
      );
    this.transition(job, { CompilationJobStatus: "STOPPING" });
    return {};
  }

  private transition(job: CompilationJobRecord, change: Partial<CompilationJobRecord>) {
    Object.assign(job, change, { LastModifiedTime: this.context.clock.now().toISOString() });
    this.state.save();
  }

  private start(job: CompilationJobRecord) {
    const run = this.run(job)
      .catch((error) => {
        if (!this.closed)
          this.transition(job, {
            CompilationJobStatus: "FAILED",
            FailureReason: `InternalError: ${(error as Error).message}`,
          });
      })
      .finally(() => this.running.delete(job.CompilationJobName));
    this.running.set(job.CompilationJobName, run);
  }

  private stopped(job: CompilationJobRecord): boolean {
    if (job.CompilationJobStatus !== "STOPPING") return false;
    this.transition(job, {
      CompilationJobStatus: "STOPPED",
      CompilationEndTime: this.context.clock.now().toISOString(),
    });
    return true;
  }

  private async run(job: CompilationJobRecord): Promise<void> {
    if (job.CompilationJobStatus === "STARTING") {
      await this.context.clock.sleep(this.timings.startingSeconds);
      if (this.closed || this.stopped(job)) return;
      this.transition(job, {
        CompilationJobStatus: "INPROGRESS",
        CompilationStartTime: this.context.clock.now().toISOString(),
      });
    }
    if (this.stopped(job)) return;
    const began = Date.parse(job.CompilationStartTime ?? job.CreationTime);
    let outcome: Partial<CompilationJobRecord>;
    try {
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
      outcome = {
        CompilationJobStatus: "COMPLETED",
        ModelArtifacts: { S3ModelArtifacts: `s3://${result.artifact.bucket}/${result.artifact.key}` },
        ModelDigests: { ArtifactDigest: result.digest },
        InferenceImage: "edge-mlops-local/onnxruntime",
      };
    } catch (error) {
      if (!(error instanceof CompilationFailedError) && !(error instanceof AwsError)) throw error;
      outcome = { CompilationJobStatus: "FAILED", FailureReason: error.message };
    }
    const remaining = this.timings.minimumRunSeconds - (this.context.clock.now().getTime() - began) / 1000;
    if (remaining > 0) await this.context.clock.sleep(remaining);
    if (this.closed || this.stopped(job)) return;
    this.transition(job, { ...outcome, CompilationEndTime: this.context.clock.now().toISOString() });
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

  /** Waits for running jobs (tests; shutdown does not wait, jobs resume on restart). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  close(): void {
    this.closed = true;
    this.state.save();
  }

  flush(): void {
    this.state.save();
  }
}

const platformName = (p: Json | undefined) =>
  p
    ? [p.Os, p.Arch, p.Accelerator]
        .filter((x) => typeof x === "string")
        .join("_")
        .toLowerCase()
    : "unknown";
