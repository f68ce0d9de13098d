/**
 * The steps of the local loop that `npm start` and the end-to-end tests share: publish the
 * inference component, give the groups their baseline deployment, register and approve a model
 * package, find the execution the approval started, run drift analysis. Every step goes through
 * the AWS APIs of the local endpoint, as a user with the AWS CLI would.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ComponentDeploymentSpecification,
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
  GreengrassV2Client,
  ListDeploymentsCommand,
} from "@aws-sdk/client-greengrassv2";
import { IoTClient } from "@aws-sdk/client-iot";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  UpdateModelPackageCommand,
} from "@aws-sdk/client-sagemaker";
import { ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { buildInferenceRuntime } from "../../edge/build.ts";
import {
  INFERENCE_ARTIFACT_FILE,
  INFERENCE_COMPONENT_NAME,
  inferenceRuntimeRecipe,
} from "../../edge/recipe.ts";
import type { Settings } from "../../edge/settings.ts";

/** A step of the loop did not get where it should within its time. */
export class LoopStepError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LoopStepError";
  }
}

export interface LoopClients {
  s3: S3Client;
  sagemaker: SageMakerClient;
  greengrass: GreengrassV2Client;
  sfn: SFNClient;
  iot: IoTClient;
  destroy(): void;
}

/** The local endpoint takes any credentials; these say so in its request log. */
const localCredentials = { accessKeyId: "edge-mlops-local", secretAccessKey: "edge-mlops-local" };

/** SDK clients pointed at the local endpoint, as the AWS CLI would be with --endpoint-url. */
export function endpointClients(endpointUrl: string, region: string): LoopClients {
  const common = { endpoint: endpointUrl, region, credentials: localCredentials, maxAttempts: 5 };
  const clients = {
    s3: new S3Client({
      ...common,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
    sagemaker: new SageMakerClient(common),
    greengrass: new GreengrassV2Client(common),
    sfn: new SFNClient(common),
    iot: new IoTClient(common),
  };
  return {
    ...clients,
    destroy() {
      for (const c of Object.values(clients)) c.destroy();
    },
  };
}

export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new LoopStepError(`${what}: not done after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const isConflict = (error: unknown) => ["ConflictException", "ResourceInUse"].includes((error as Error).name);

export interface PublishRuntimeOptions {
  version: string;
  bucket: string;
  /** Where the esbuild bundle is written. */
  buildDir: string;
  /** DefaultConfiguration overrides: capture bucket, prefix, fleet name, batch settings. */
  configuration: Partial<Settings>;
  /** Account and Region of the endpoint, for the version ARN when it already exists. */
  accountId: string;
  region: string;
  timeoutMs?: number;
}

/**
 * Bundles the inference component (edge/build.ts), uploads it and creates its component version
 * from the generated recipe; an existing version is kept (a re-run is a no-op).
 * @example await publishInferenceComponent(clients, { version: "1.0.0", bucket, buildDir, configuration: { BucketName: "capture" } });
 */
export async function publishInferenceComponent(
  clients: LoopClients,
  options: PublishRuntimeOptions,
): Promise<{ arn: string; created: boolean }> {
  const { greengrass, s3 } = clients;
  const built = await buildInferenceRuntime(options.buildDir);
  const key = `components/${INFERENCE_COMPONENT_NAME}/${options.version}/${INFERENCE_ARTIFACT_FILE}`;
  await s3.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: key,
      Body: await readFile(built.path),
      ContentType: "text/javascript",
    }),
  );
  const recipe = inferenceRuntimeRecipe({
    componentVersion: options.version,
    artifactUri: `s3://${options.bucket}/${key}`,
    artifactDigest: built.digest,
    configuration: options.configuration,
  });
  let arn: string | undefined;
  let created = true;
  try {
    const out = await greengrass.send(
      new CreateComponentVersionCommand({ inlineRecipe: Buffer.from(JSON.stringify(recipe)) }),
    );
    arn = out.arn;
  } catch (error) {
    if (!isConflict(error)) throw error;
    created = false;
  }
  arn ??= `arn:aws:greengrass:${options.region}:${options.accountId}:components:${INFERENCE_COMPONENT_NAME}:versions:${options.version}`;
  const described = await until(
    `component ${INFERENCE_COMPONENT_NAME}@${options.version}`,
    () => greengrass.send(new DescribeComponentCommand({ arn })),
    (d) => d.status?.componentState === "DEPLOYABLE" || d.status?.componentState === "FAILED",
    options.timeoutMs ?? 20_000,
  );
  if (described.status?.componentState === "FAILED") {
    throw new LoopStepError(
      `component ${INFERENCE_COMPONENT_NAME}@${options.version} FAILED: ${described.status.message}`,
    );
  }
  return { arn: described.arn ?? arn, created };
}

/**
 * Gives each thing group a first deployment (the "previous" one a rollback returns to) when it
 * has none yet. Returns the deployment ids created.
 */
export async function deployBaseline(
  greengrass: GreengrassV2Client,
  targetArns: string[],
  components: Record<string, ComponentDeploymentSpecification>,
): Promise<string[]> {
  const created: string[] = [];
  for (const targetArn of targetArns) {
    const existing = await greengrass.send(
      new ListDeploymentsCommand({ targetArn, historyFilter: "LATEST_ONLY" }),
    );
    if (existing.deployments?.some((d) => d.targetArn === targetArn)) continue;
    const out = await greengrass.send(
      new CreateDeploymentCommand({
        targetArn,
        deploymentName: `baseline (${targetArn.slice(targetArn.lastIndexOf("/") + 1)})`,
        components,
        deploymentPolicies: { failureHandlingPolicy: "ROLLBACK" },
      }),
    );
    if (out.deploymentId) created.push(out.deploymentId);
  }
  return created;
}

/** Uploads the example ONNX model once (same bytes, same key) and returns its s3:// URI. */
export async function uploadModel(s3: S3Client, bucket: string, key: string, file: string): Promise<string> {
  const body = await readFile(file);
  const sha = createHash("sha256").update(body).digest("hex");
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  if (head?.Metadata?.sha256 !== sha) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { sha256: sha } }));
  }
  return `s3://${bucket}/${key}`;
}

export interface ModelPackageInput {
  groupName: string;
  modelDataUrl: string;
  dataInputConfig: string;
  /** `edge-mlops:` overrides (see config/overrides.ts). */
  metadata?: Record<string, string>;
  description?: string;
}

/** Creates the group if needed and a new package version, pending approval; returns its ARN. */
export async function registerModelPackage(
  sagemaker: SageMakerClient,
  input: ModelPackageInput,
): Promise<string> {
  try {
    await sagemaker.send(
      new CreateModelPackageGroupCommand({
        ModelPackageGroupName: input.groupName,
        ModelPackageGroupDescription: "edge-mlops example classifier",
      }),
    );
  } catch (error) {
    if (!isConflict(error) && !/already exists/i.test((error as Error).message)) throw error;
  }
  const out = await sagemaker.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: input.groupName,
      ModelPackageDescription: input.description ?? "example classifier (16 features → 3 classes)",
      ModelApprovalStatus: "PendingManualApproval",
      InferenceSpecification: {
        Containers: [
          {
            Image: "onnxruntime",
            ModelDataUrl: input.modelDataUrl,
            Framework: "ONNX",
            ModelInput: { DataInputConfig: input.dataInputConfig },
          },
        ],
        SupportedContentTypes: ["application/json"],
        SupportedResponseMIMETypes: ["application/json"],
      },
      ...(input.metadata ? { CustomerMetadataProperties: input.metadata } : {}),
    }),
  );
  if (!out.ModelPackageArn) throw new LoopStepError("CreateModelPackage returned no ModelPackageArn");
  return out.ModelPackageArn;
}

/** The next version number the group will get (for naming things before the package exists). */
export async function packageCount(sagemaker: SageMakerClient, groupName: string): Promise<number> {
  const out = await sagemaker
    .send(new ListModelPackagesCommand({ ModelPackageGroupName: groupName, MaxResults: 100 }))
    .catch(() => undefined);
  return out?.ModelPackageSummaryList?.length ?? 0;
}

export async function approve(sagemaker: SageMakerClient, modelPackageArn: string): Promise<void> {
  await sagemaker.send(
    new UpdateModelPackageCommand({
      ModelPackageArn: modelPackageArn,
      ModelApprovalStatus: "Approved",
      ApprovalDescription: "approved by edge-mlops demo",
    }),
  );
}

/** Waits for the execution the approval of `<group>/<version>` started (its name is deterministic). */
export async function executionFor(
  sfn: SFNClient,
  stateMachineArn: string,
  groupName: string,
  version: number,
  timeoutMs = 15_000,
): Promise<string> {
  const prefix = `${groupName}-v${version}`;
  const found = await until(
    `execution for ${groupName} version ${version}`,
    () => sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100 })),
    (out) => Boolean(out.executions?.some((e) => e.name === prefix || e.name?.startsWith(`${prefix}-`))),
    timeoutMs,
  );
  const execution = found.executions?.find((e) => e.name === prefix || e.name?.startsWith(`${prefix}-`));
  return execution?.executionArn as string;
}

export const exampleModelFile = (repoRoot: string) => join(repoRoot, "examples", "model", "classifier.onnx");
