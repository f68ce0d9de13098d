import { join } from "node:path";
import { CreateComponentVersionCommand, GreengrassV2Client } from "@aws-sdk/client-greengrassv2";
import type { Faults } from "../faults.ts";
import { internal, internalConfig } from "../server/internal-clients.ts";
import { JsonState } from "../server/state.ts";
import { AwsError, type LocalContext, type ObjectStoreApi, validation } from "../server/types.ts";
import type { CompilationJobs, JobTimings } from "./compilation-jobs.ts";
import { CompilationFailedError } from "./compiler.ts";
import { packageModel } from "./packaging.ts";
import { parseS3Uri } from "./s3-uri.ts";
import { epoch, oneOf, paginate, requireName, requireString, sortBy } from "./shapes.ts";

type Json = Record<string, unknown>;
const statuses = ["STARTING", "INPROGRESS", "COMPLETED", "FAILED", "STOPPING", "STOPPED"] as const;
type Status = (typeof statuses)[number];
const terminal = new Set<Status>(["COMPLETED", "FAILED", "STOPPED"]);
// SageMaker's ModelVersion pattern: [a-zA-Z0-9\ \_\.]+, at most 70 characters.
const versionPattern = /^[a-zA-Z0-9 _.]{1,70}$/;

export interface EdgePackagingJobRecord {
  EdgePackagingJobArn: string;
  EdgePackagingJobName: string;
  EdgePackagingJobStatus: Status;
  CompilationJobName: string;
  ModelName: string;
  ModelVersion: string;
  RoleArn: string;
  OutputConfig: Json;
  ResourceKey?: string;
  EdgePackagingJobStatusMessage?: string;
  CreationTime: string;
  LastModifiedTime: string;
  ModelArtifact?: string;
  ModelSignature?: string;
  PresetDeploymentOutput?: {
    Type: "GreengrassV2Component";
    Artifact?: string;
    Status: "COMPLETED" | "FAILED";
    StatusMessage?: string;
  };
}

export const defaultPackagingTimings: JobTimings = { startingSeconds: 5, minimumRunSeconds: 20 };

/**
 * Edge packaging jobs (discontinued on AWS in 2024, kept for the legacy packaging strategy). With
 * `PresetDeploymentType: GreengrassV2Component` the job creates a Greengrass component version for
 * the packaged model through the endpoint's Greengrass service, as SageMaker did.
 */
export class EdgePackagingJobs {
  private readonly state: JsonState<{ jobs: Record<string, EdgePackagingJobRecord> }>;
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;
  private greengrassClient: GreengrassV2Client | undefined;

  constructor(
    private readonly context: LocalContext,
    private readonly compilations: CompilationJobs,
    private readonly store: ObjectStoreApi,
    private readonly faults: Faults,
    private readonly timings: JobTimings = defaultPackagingTimings,
  ) {
    this.state = new JsonState(join(context.stateDir, "edge-packaging-jobs.json"), { jobs: {} });
  }

  resume(): void {
    for (const job of Object.values(this.state.data.jobs))
      if (!terminal.has(job.EdgePackagingJobStatus)) this.start(job);
  }

  create(input: Json) {
    const name = requireName(input.EdgePackagingJobName, "edgePackagingJobName");
    const compilationJobName = requireName(input.CompilationJobName, "compilationJobName");
    const modelName = requireName(input.ModelName, "modelName");
    const modelVersion = requireString(input.ModelVersion, "modelVersion");
    if (!versionPattern.test(modelVersion))
      throw validation(
        `ModelVersion '${modelVersion}' must be 1-70 letters, digits, spaces, underscores or dots`,
      );
    const roleArn = requireString(input.RoleArn, "roleArn");
    const output = input.OutputConfig as Json | undefined;
    if (!output || typeof output !== "object") throw validation("OutputConfig is required");
    parseS3Uri(
      requireString(output.S3OutputLocation, "outputConfig.s3OutputLocation"),
      "OutputConfig.S3OutputLocation",
    );
    oneOf(output.PresetDeploymentType, "outputConfig.presetDeploymentType", [
      "GreengrassV2Component",
    ] as const);
    if (output.PresetDeploymentConfig !== undefined) this.presetConfig(output);
    if (this.state.data.jobs[name])
      throw new AwsError("ResourceInUse", `Edge packaging job ${name} already exists`, 400);
    const now = this.context.clock.now().toISOString();
    const job: EdgePackagingJobRecord = {
      EdgePackagingJobArn: `arn:aws:sagemaker:${this.context.region}:${this.context.accountId}:edge-packaging-job/${name.toLowerCase()}`,
      EdgePackagingJobName: name,
      EdgePackagingJobStatus: "STARTING",
      CompilationJobName: compilationJobName,
      ModelName: modelName,
      ModelVersion: modelVersion,
      RoleArn: roleArn,
      OutputConfig: output,
      ...(typeof input.ResourceKey === "string" ? { ResourceKey: input.ResourceKey } : {}),
      CreationTime: now,
      LastModifiedTime: now,
    };
    this.state.data.jobs[name] = job;
    this.state.save();
    this.start(job);
    return {};
  }

  private presetConfig(output: Json): Json {
    if (output.PresetDeploymentConfig === undefined) return {};
    try {
      const parsed = JSON.parse(String(output.PresetDeploymentConfig));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Json;
    } catch {
      // falls through to the validation error
    }
    throw validation("OutputConfig.PresetDeploymentConfig must be a JSON object");
  }

  private find(input: Json): EdgePackagingJobRecord {
    const name = requireString(input.EdgePackagingJobName, "edgePackagingJobName");
    const job = this.state.data.jobs[name];
    if (!job)
      throw new AwsError("ResourceNotFound", `Could not find edge packaging job with name ${name}`, 400);
    return job;
  }

  describe(input: Json) {
    const j = this.find(input);
    return { ...j, CreationTime: epoch(j.CreationTime), LastModifiedTime: epoch(j.LastModifiedTime) };
  }

  list(input: Json) {
    const status = oneOf(input.StatusEquals, "statusEquals", statuses);
    const contains = typeof input.NameContains === "string" ? input.NameContains.toLowerCase() : undefined;
    const by =
      oneOf(input.SortBy, "sortBy", [
        "NAME",
        "MODEL_NAME",
        "CREATION_TIME",
        "LAST_MODIFIED_TIME",
        "STATUS",
      ] as const) ?? "CREATION_TIME";
    const order = oneOf(input.SortOrder, "sortOrder", ["Ascending", "Descending"] as const) ?? "Ascending";
    const jobs = Object.values(this.state.data.jobs).filter(
      (j) =>
        (!status || j.EdgePackagingJobStatus === status) &&
        (!contains || j.EdgePackagingJobName.toLowerCase().includes(contains)),
    );
    const key = (j: EdgePackagingJobRecord) =>
      ({
        NAME: j.EdgePackagingJobName,
        MODEL_NAME: j.ModelName,
        CREATION_TIME: j.CreationTime,
        LAST_MODIFIED_TIME: j.LastModifiedTime,
        STATUS: j.EdgePackagingJobStatus,
      })[by];
    const { page, NextToken } = paginate(sortBy(jobs, key, order), input.MaxResults, input.NextToken);
    return {
      EdgePackagingJobSummaries: page.map((j) => ({
        EdgePackagingJobArn: j.EdgePackagingJobArn,
        EdgePackagingJobName: j.EdgePackagingJobName,
        EdgePackagingJobStatus: j.EdgePackagingJobStatus,
        CompilationJobName: j.CompilationJobName,
        ModelName: j.ModelName,
        ModelVersion: j.ModelVersion,
        CreationTime: epoch(j.CreationTime),
        LastModifiedTime: epoch(j.LastModifiedTime),
      })),
      NextToken,
    };
  }

  stop(input: Json) {
    const job = this.find(input);
    if (terminal.has(job.EdgePackagingJobStatus))
      throw validation(
        `Edge packaging job ${job.EdgePackagingJobName} is ${job.EdgePackagingJobStatus} and cannot be stopped`,
      );
    this.transition(job, { EdgePackagingJobStatus: "STOPPING" });
    return {};
  }

  private transition(job: EdgePackagingJobRecord, change: Partial<EdgePackagingJobRecord>) {
    Object.assign(job, change, { LastModifiedTime: this.context.clock.now().toISOString() });
    this.state.save();
  }

  private start(job: EdgePackagingJobRecord) {
    const run = this.run(job)
      .catch((error) => {
        if (!this.closed)
          this.transition(job, {
            EdgePackagingJobStatus: "FAILED",
            EdgePackagingJobStatusMessage: `InternalError: ${(error as Error).message}`,
          });
      })
      .finally(() => this.running.delete(job.EdgePackagingJobName));
    this.running.set(job.EdgePackagingJobName, run);
  }

  private stopped(job: EdgePackagingJobRecord): boolean {
    if (job.EdgePackagingJobStatus !== "STOPPING") return false;
    this.transition(job, { EdgePackagingJobStatus: "STOPPED" });
    return true;
  }

  private async run(job: EdgePackagingJobRecord): Promise<void> {
    if (job.EdgePackagingJobStatus === "STARTING") {
      await this.context.clock.sleep(this.timings.startingSeconds);
      if (this.closed || this.stopped(job)) return;
      this.transition(job, { EdgePackagingJobStatus: "INPROGRESS" });
    }
    if (this.stopped(job)) return;
    const began = Date.parse(job.LastModifiedTime);
    let outcome: Partial<EdgePackagingJobRecord>;
    try {
      const forced = this.faults.jobFailure("edge-packaging", job.EdgePackagingJobName);
      if (forced) throw new CompilationFailedError(forced);
      const result = await packageModel(
        {
          jobName: job.EdgePackagingJobName,
          compilation: this.compilations.get(job.CompilationJobName),
          compilationJobName: job.CompilationJobName,
          modelName: job.ModelName,
          modelVersion: job.ModelVersion,
          output: parseS3Uri(job.OutputConfig.S3OutputLocation as string, "S3OutputLocation"),
        },
        this.store,
      );
      const artifact = `s3://${result.artifact.bucket}/${result.artifact.key}`;
      outcome = {
        EdgePackagingJobStatus: "COMPLETED",
        ModelArtifact: artifact,
        ModelSignature: result.signature,
      };
      if (job.OutputConfig.PresetDeploymentType === "GreengrassV2Component") {
        outcome.PresetDeploymentOutput = await this.createComponent(job, artifact);
      }
    } catch (error) {
      if (!(error instanceof CompilationFailedError) && !(error instanceof AwsError)) throw error;
      outcome = { EdgePackagingJobStatus: "FAILED", EdgePackagingJobStatusMessage: error.message };
    }
    const remaining = this.timings.minimumRunSeconds - (this.context.clock.now().getTime() - began) / 1000;
    if (remaining > 0) await this.context.clock.sleep(remaining);
    if (this.closed || this.stopped(job)) return;
    this.transition(job, outcome);
  }

  /** The model component SageMaker's preset created: the package as its artifact, unpacked at install. */
  private async createComponent(
    job: EdgePackagingJobRecord,
    artifact: string,
  ): Promise<EdgePackagingJobRecord["PresetDeploymentOutput"]> {
    const config = this.presetConfig(job.OutputConfig);
    const componentName = (config.ComponentName as string | undefined) ?? job.ModelName;
    const componentVersion = (config.ComponentVersion as string | undefined) ?? "1.0.0";
    const file = artifact.slice(artifact.lastIndexOf("/") + 1);
    const platform: Json = { os: String(config.PlatformOS ?? "linux").toLowerCase() };
    if (typeof config.PlatformArchitecture === "string")
      platform.architecture = config.PlatformArchitecture.toLowerCase();
    const recipe = {
      RecipeFormatVersion: "2020-01-25",
      ComponentName: componentName,
      ComponentVersion: componentVersion,
      ComponentDescription:
        (config.ComponentDescription as string | undefined) ??
        `Model ${job.ModelName} ${job.ModelVersion}, packaged by edge packaging job ${job.EdgePackagingJobName}`,
      ComponentPublisher: "AWS",
      ComponentConfiguration: {
        DefaultConfiguration: {
          ModelName: job.ModelName,
          ModelVersion: job.ModelVersion,
          ModelFile: "model.onnx",
        },
      },
      Manifests: [
        {
          Platform: platform,
          Lifecycle: {
            Install: `mkdir -p {work:path}/model && tar -xzf {artifacts:path}/${file} -C {work:path}/model`,
          },
          Artifacts: [{ Uri: artifact }],
        },
      ],
    };
    try {
      this.greengrassClient ??= internal(
        new GreengrassV2Client(internalConfig(this.context.endpointUrl ?? "", this.context.region)),
      );
      const out = await this.greengrassClient.send(
        new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(recipe)) }),
      );
      return { Type: "GreengrassV2Component", Artifact: out.arn, Status: "COMPLETED" };
    } catch (error) {
      return {
        Type: "GreengrassV2Component",
        Status: "FAILED",
        StatusMessage: `Creating Greengrass component ${componentName} ${componentVersion} failed: ${(error as Error).message}`,
      };
    }
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  close(): void {
    this.closed = true;
    this.greengrassClient?.destroy();
    this.state.save();
  }

  flush(): void {
    this.state.save();
  }
}
