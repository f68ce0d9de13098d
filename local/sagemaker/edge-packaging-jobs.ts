import { CreateComponentVersionCommand, GreengrassV2Client } from "@aws-sdk/client-greengrassv2";
import type { Faults } from "../faults.ts";
import { internal, internalConfig } from "../server/internal-clients.ts";
import { type LocalContext, type ObjectStoreApi, validation } from "../server/types.ts";
import type { CompilationJobs } from "./compilation-jobs.ts";
import { CompilationFailedError } from "./compiler.ts";
import {
  type JobKind,
  type JobStatus,
  type JobTimings,
  jobStatuses,
  SimulatedJobs,
} from "./job-lifecycle.ts";
import { packageModel } from "./packaging.ts";
import { parseS3Uri } from "./s3-uri.ts";
import { epoch, oneOf, paginate, requireName, requireString, sortBy } from "./shapes.ts";

type Json = Record<string, unknown>;
// SageMaker's ModelVersion pattern: [a-zA-Z0-9\ \_\.]+, at most 70 characters.
const versionPattern = /^[a-zA-Z0-9 _.]{1,70}$/;

export interface EdgePackagingJobRecord {
  EdgePackagingJobArn: string;
  EdgePackagingJobName: string;
  EdgePackagingJobStatus: JobStatus;
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

const edgePackagingJob: JobKind<EdgePackagingJobRecord> = {
  noun: "Edge packaging job",
  nameMember: "EdgePackagingJobName",
  stateFile: "edge-packaging-jobs.json",
  nameOf: (job) => job.EdgePackagingJobName,
  statusOf: (job) => job.EdgePackagingJobStatus,
  status: (status) => ({ EdgePackagingJobStatus: status }),
  stamps: () => ({}),
  failure: (reason) => ({ EdgePackagingJobStatusMessage: reason }),
  // The INPROGRESS transition's time: packaging records no start time of its own.
  began: (job) => Date.parse(job.LastModifiedTime),
};

/**
 * Edge packaging jobs (discontinued on AWS in 2024, kept for the legacy packaging strategy). With
 * `PresetDeploymentType: GreengrassV2Component` the job creates a Greengrass component version for
 * the packaged model through the endpoint's Greengrass service, as SageMaker did.
 */
export class EdgePackagingJobs extends SimulatedJobs<EdgePackagingJobRecord> {
  private greengrassClient: GreengrassV2Client | undefined;

  constructor(
    context: LocalContext,
    private readonly compilations: CompilationJobs,
    private readonly store: ObjectStoreApi,
    private readonly faults: Faults,
    timings: JobTimings = defaultPackagingTimings,
  ) {
    super(context, edgePackagingJob, timings);
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
    this.insert(job);
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

  describe(input: Json) {
    const j = this.find(input);
    return { ...j, CreationTime: epoch(j.CreationTime), LastModifiedTime: epoch(j.LastModifiedTime) };
  }

  list(input: Json) {
    const status = oneOf(input.StatusEquals, "statusEquals", jobStatuses);
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
    const jobs = this.all().filter(
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

  protected async work(job: EdgePackagingJobRecord): Promise<Partial<EdgePackagingJobRecord>> {
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
    const outcome: Partial<EdgePackagingJobRecord> = {
      EdgePackagingJobStatus: "COMPLETED",
      ModelArtifact: artifact,
      ModelSignature: result.signature,
    };
    if (job.OutputConfig.PresetDeploymentType === "GreengrassV2Component") {
      outcome.PresetDeploymentOutput = await this.createComponent(job, artifact);
    }
    return outcome;
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

  override close(): void {
    this.greengrassClient?.destroy();
    super.close();
  }
}
