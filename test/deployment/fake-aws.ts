import { Readable } from "node:stream";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CancelDeploymentCommand,
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  DescribeComponentCommand,
  GetComponentCommand,
  GetDeploymentCommand,
  GreengrassV2Client,
  ListDeploymentsCommand,
} from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand, IoTClient, type JobProcessDetails } from "@aws-sdk/client-iot";
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateCompilationJobCommand,
  CreateEdgePackagingJobCommand,
  DescribeCompilationJobCommand,
  DescribeEdgePackagingJobCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { ARTIFACT_BUCKET, CANARY_ARN, GROUP, PACKAGE_ARN } from "../fixtures/deployment/config.ts";

// Mocking the classes covers the module-scope clients in functions/shared/clients.ts.
export const sageMaker = mockClient(SageMakerClient);
export const greengrass = mockClient(GreengrassV2Client);
export const iot = mockClient(IoTClient);
export const s3 = mockClient(S3Client);
export const eventBridge = mockClient(EventBridgeClient);
export const sfn = mockClient(SFNClient);

export const MODEL_BYTES = Buffer.from("compiled model bytes");

export interface FakeAwsOptions {
  version?: number;
  approvalStatus?: string;
  metadata?: Record<string, string>;
  /** Status of a compilation job at its n-th Describe (1-based). Default: INPROGRESS, then COMPLETED. */
  compilation?: (jobName: string, poll: number) => { status: string; reason?: string };
  componentState?: (poll: number) => { state: string; message?: string };
  /** IoT job counts of a stage at its n-th poll. Default: every device succeeded. */
  jobCounts?: (targetArn: string, poll: number) => JobProcessDetails;
  /** Deployments already on a target before the execution. */
  existing?: Record<string, Record<string, { componentVersion: string }>>;
}

interface StoredDeployment {
  deploymentId: string;
  targetArn: string;
  components: Record<string, unknown>;
  tags: Record<string, string>;
  iotJobId: string;
  clientToken?: string;
  deploymentStatus: string;
}

export function fakeAws(options: FakeAwsOptions = {}) {
  for (const m of [sageMaker, greengrass, iot, s3, eventBridge, sfn]) m.reset();
  const version = options.version ?? 3;
  const compilationPolls = new Map<string, number>();
  const deployments: StoredDeployment[] = [];
  const jobPolls = new Map<string, number>();
  let componentPolls = 0;

  for (const [targetArn, components] of Object.entries(options.existing ?? {})) {
    const name = targetArn.split("/").pop();
    deployments.push({
      deploymentId: `old-${name}`,
      targetArn,
      components,
      tags: {},
      iotJobId: `job-old-${name}`,
      deploymentStatus: "ACTIVE",
    });
  }

  sageMaker.on(ListModelPackagesCommand).resolves({
    ModelPackageSummaryList: [
      {
        ModelPackageArn: PACKAGE_ARN(version),
        ModelPackageGroupName: GROUP,
        ModelPackageVersion: version,
        ModelPackageStatus: "Completed",
        ModelApprovalStatus: "Approved",
        CreationTime: new Date("2026-11-24T10:00:00Z"),
      },
    ],
  });
  sageMaker.on(DescribeModelPackageCommand).callsFake((input: { ModelPackageName: string }) => ({
    ModelPackageArn: input.ModelPackageName,
    ModelPackageName: GROUP,
    ModelPackageGroupName: GROUP,
    ModelPackageVersion: Number(input.ModelPackageName.split("/").pop()),
    ModelPackageStatus: "Completed",
    ModelApprovalStatus: options.approvalStatus ?? "Approved",
    CreationTime: new Date("2026-11-24T10:00:00Z"),
    InferenceSpecification: {
      Containers: [
        {
          Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx:latest",
          ModelDataUrl: `s3://models/${GROUP}/${version}/model.tar.gz`,
          Framework: "ONNX",
          ModelInput: { DataInputConfig: '{"input":[1,16]}' },
        },
      ],
      SupportedContentTypes: ["application/json"],
      SupportedResponseMIMETypes: ["application/json"],
    },
    CustomerMetadataProperties: options.metadata ?? {},
  }));
  sageMaker.on(CreateCompilationJobCommand).callsFake((input: { CompilationJobName: string }) => ({
    CompilationJobArn: `arn:aws:sagemaker:us-east-1:000000000000:compilation-job/${input.CompilationJobName}`,
  }));
  sageMaker.on(DescribeCompilationJobCommand).callsFake((input: { CompilationJobName: string }) => {
    const poll = (compilationPolls.get(input.CompilationJobName) ?? 0) + 1;
    compilationPolls.set(input.CompilationJobName, poll);
    const { status, reason } = options.compilation?.(input.CompilationJobName, poll) ?? {
      status: poll === 1 ? "INPROGRESS" : "COMPLETED",
    };
    return {
      CompilationJobName: input.CompilationJobName,
      CompilationJobArn: `arn:aws:sagemaker:us-east-1:000000000000:compilation-job/${input.CompilationJobName}`,
      CompilationJobStatus: status,
      ...(reason ? { FailureReason: reason } : {}),
      ...(status === "COMPLETED"
        ? {
            ModelArtifacts: {
              S3ModelArtifacts: `s3://${ARTIFACT_BUCKET}/compiled/${input.CompilationJobName}/model-x.tar.gz`,
            },
          }
        : {}),
    };
  });
  sageMaker.on(CreateEdgePackagingJobCommand).resolves({});
  sageMaker.on(DescribeEdgePackagingJobCommand).callsFake((input: { EdgePackagingJobName: string }) => {
    const target = input.EdgePackagingJobName.includes("arm64") ? "linux-arm64" : "linux-x86-64";
    return {
      EdgePackagingJobName: input.EdgePackagingJobName,
      EdgePackagingJobStatus: "COMPLETED",
      PresetDeploymentOutput: {
        Type: "GreengrassV2Component",
        Status: "COMPLETED",
        Artifact: `arn:aws:greengrass:us-east-1:000000000000:components:com.edgemlops.models.ExampleClassifier-${target}:versions:1.0.${version}`,
      },
    };
  });

  s3.on(HeadObjectCommand).rejects(Object.assign(new Error("NotFound"), { name: "NotFound" }));
  s3.on(GetObjectCommand).callsFake(() => ({
    Body: Readable.from([MODEL_BYTES]) as never,
    ETag: '"etag-1"',
    ContentType: "application/gzip",
  }));
  s3.on(CopyObjectCommand).resolves({});

  greengrass.on(CreateComponentVersionCommand).callsFake(() => ({
    arn: `arn:aws:greengrass:us-east-1:000000000000:components:${"x"}:versions:1`,
    status: { componentState: "REQUESTED" },
  }));
  greengrass.on(DescribeComponentCommand).callsFake(() => {
    componentPolls += 1;
    const { state, message } = options.componentState?.(componentPolls) ?? { state: "DEPLOYABLE" };
    return { status: { componentState: state, ...(message ? { message } : {}) } };
  });
  greengrass.on(GetComponentCommand).resolves({});
  greengrass.on(ListDeploymentsCommand).callsFake((input: { targetArn: string }) => {
    const latest = deployments.filter((d) => d.targetArn === input.targetArn).pop();
    return {
      deployments: latest
        ? [{ deploymentId: latest.deploymentId, targetArn: latest.targetArn, isLatestForTarget: true }]
        : [],
    };
  });
  greengrass.on(GetDeploymentCommand).callsFake((input: { deploymentId: string }) => {
    const found = deployments.find((d) => d.deploymentId === input.deploymentId);
    if (!found)
      throw Object.assign(new Error(`no deployment ${input.deploymentId}`), {
        name: "ResourceNotFoundException",
      });
    return structuredClone(found);
  });
  greengrass
    .on(CreateDeploymentCommand)
    .callsFake(
      (input: {
        targetArn: string;
        components: Record<string, unknown>;
        tags?: Record<string, string>;
        clientToken?: string;
      }) => {
        const same = deployments.find((d) => d.clientToken && d.clientToken === input.clientToken);
        if (same) return { deploymentId: same.deploymentId, iotJobId: same.iotJobId };
        const deploymentId = `dep-${deployments.length + 1}`;
        deployments.push({
          deploymentId,
          targetArn: input.targetArn,
          components: input.components,
          tags: input.tags ?? {},
          iotJobId: `job-${deploymentId}`,
          clientToken: input.clientToken,
          deploymentStatus: "ACTIVE",
        });
        return { deploymentId, iotJobId: `job-${deploymentId}` };
      },
    );
  greengrass.on(CancelDeploymentCommand).resolves({ message: "cancelled" });

  iot.on(DescribeJobCommand).callsFake((input: { jobId: string }) => {
    const deployment = deployments.find((d) => d.iotJobId === input.jobId);
    const targetArn = deployment?.targetArn ?? "";
    const poll = (jobPolls.get(input.jobId) ?? 0) + 1;
    jobPolls.set(input.jobId, poll);
    const size = targetArn === CANARY_ARN ? 2 : 8;
    const details = options.jobCounts?.(targetArn, poll) ?? { numberOfSucceededThings: size };
    return { job: { jobId: input.jobId, status: "IN_PROGRESS", jobProcessDetails: details } };
  });

  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "evt-1" }] });
  return { deployments };
}

/** Details of every PutEvents entry sent, parsed. */
export function putEvents() {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => ({ ...e, detail: JSON.parse(e.Detail ?? "{}") }));
}
