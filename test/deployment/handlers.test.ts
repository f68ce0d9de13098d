import "./env.ts";
import { createHash } from "node:crypto";
import {
  CreateComponentVersionCommand,
  CreateDeploymentCommand,
  GetComponentCommand,
  GetDeploymentCommand,
  ListDeploymentsCommand,
} from "@aws-sdk/client-greengrassv2";
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateCompilationJobCommand,
  DescribeCompilationJobCommand,
  DescribeModelPackageCommand,
} from "@aws-sdk/client-sagemaker";
import { beforeEach, describe, expect, it } from "vitest";
import { handler as checkCompilation } from "../../functions/deployment/check-compilation.ts";
import { handler as checkRollout } from "../../functions/deployment/check-rollout.ts";
import { handler as deployStage } from "../../functions/deployment/deploy-stage.ts";
import { clientToken } from "../../functions/deployment/names.ts";
import type {
  CompilationState,
  CompiledTarget,
  DeploymentPlan,
  PackagingState,
  RolloutState,
} from "../../functions/deployment/plan.ts";
import type { Recipe } from "../../functions/deployment/recipe.ts";
import { handler as resolve } from "../../functions/deployment/resolve-model-package.ts";
import { handler as startCompilation } from "../../functions/deployment/start-compilation.ts";
import { handler as startPackaging } from "../../functions/deployment/start-packaging.ts";
import {
  ARTIFACT_BUCKET,
  CANARY_ARN,
  COMPONENT,
  FLEET_ARN,
  PACKAGE_ARN,
  ROLE_ARN,
} from "../fixtures/deployment/config.ts";
import { lambdaContext } from "../fixtures/deployment/context.ts";
import { fakeAws, greengrass, iot, MODEL_BYTES, s3, sageMaker } from "./fake-aws.ts";

const POLL = { compilation: "30", packaging: "10", rollout: "20" };

async function plan(input: unknown = { modelPackageArn: PACKAGE_ARN(3) }): Promise<DeploymentPlan> {
  const out = (await resolve({ input, executionName: "exec-1", pollSeconds: POLL }, lambdaContext)) as {
    plan: DeploymentPlan;
  };
  return out.plan;
}

function compiled(p: DeploymentPlan): CompiledTarget[] {
  return p.targets.map((target) => ({
    target,
    compilation: {
      jobName: target.compilationJobName,
      status: "COMPLETED",
      artifactUri: `s3://${ARTIFACT_BUCKET}/compiled/${target.name}/model-${target.name}.tar.gz`,
      polls: 2,
      adopted: false,
    },
  }));
}

describe("ResolveModelPackage", () => {
  beforeEach(() => fakeAws({ metadata: { "edge-mlops:stage.canary.bakeSeconds": "45" } }));

  it("builds the plan from configuration, package and metadata", async () => {
    const p = await plan();
    expect(sageMaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, {
      ModelPackageName: PACKAGE_ARN(3),
    });
    expect(p).toMatchObject({
      executionName: "exec-1",
      trigger: "manual",
      forced: false,
      modelPackageVersion: 3,
      componentName: COMPONENT,
      componentVersion: "1.0.3",
      compileFromPackage: true,
      packagingStrategy: "component",
      poll: {
        compilation: { seconds: 30, maxPolls: 121 },
        packaging: { seconds: 10, maxPolls: 181 },
        rollout: { seconds: 20 },
      },
    });
    expect(p.targets.map((t) => [t.compilationJobName, t.compilationOutputUri])).toEqual([
      [
        "edge-mlops-example-classifier-v3-linux-x86-64",
        `s3://${ARTIFACT_BUCKET}/compiled/edge-mlops-example-classifier/3/linux-x86-64/`,
      ],
      [
        "edge-mlops-example-classifier-v3-linux-arm64",
        `s3://${ARTIFACT_BUCKET}/compiled/edge-mlops-example-classifier/3/linux-arm64/`,
      ],
    ]);
    expect(p.stages.map((s) => [s.name, s.bakeSeconds])).toEqual([
      ["canary", 45],
      ["fleet", 0],
    ]);
  });

  it("bad package metadata fails with the key named", async () => {
    fakeAws({ metadata: { "edge-mlops:stage.canary.maxFailures": "-1" } });
    await expect(plan()).rejects.toMatchObject({
      name: "InvalidInputError",
      message: expect.stringContaining(
        'CustomerMetadataProperties["edge-mlops:stage.canary.maxFailures"] must be between 0',
      ),
    });
  });
});

describe("StartCompilation / CheckCompilation", () => {
  let state: CompilationState;
  beforeEach(async () => {
    fakeAws();
    const p = await plan();
    state = { plan: p, target: p.targets[1] as CompilationState["target"] };
  });

  it("sends CreateCompilationJob from the versioned package, for the target platform", async () => {
    await startCompilation(state, lambdaContext);
    expect(sageMaker).toHaveReceivedCommandWith(CreateCompilationJobCommand, {
      CompilationJobName: "edge-mlops-example-classifier-v3-linux-arm64",
      RoleArn: ROLE_ARN,
      ModelPackageVersionArn: PACKAGE_ARN(3),
      OutputConfig: {
        S3OutputLocation: `s3://${ARTIFACT_BUCKET}/compiled/edge-mlops-example-classifier/3/linux-arm64/`,
        TargetPlatform: { Os: "LINUX", Arch: "ARM64" },
      },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    });
    expect(sageMaker.commandCalls(CreateCompilationJobCommand)[0]?.args[0].input.InputConfig).toBeUndefined();
  });

  it("uses InputConfig when the package does not carry framework and input shape", async () => {
    sageMaker.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: PACKAGE_ARN(3),
      ModelPackageVersion: 3,
      ModelApprovalStatus: "Approved",
      InferenceSpecification: {
        Containers: [{ Image: "img", ModelDataUrl: "s3://models/m.tar.gz" }],
        SupportedContentTypes: [],
        SupportedResponseMIMETypes: [],
      },
    } as never);
    const p = await plan();
    await startCompilation({ plan: p, target: p.targets[0] as CompilationState["target"] }, lambdaContext);
    expect(sageMaker).toHaveReceivedCommandWith(CreateCompilationJobCommand, {
      InputConfig: { S3Uri: "s3://models/m.tar.gz", Framework: "ONNX", DataInputConfig: '{"input":[1,16]}' },
    });
  });

  it("adopts an existing job of the same name (ResourceInUse) instead of failing", async () => {
    sageMaker
      .on(CreateCompilationJobCommand)
      .rejects(Object.assign(new Error("job exists"), { name: "ResourceInUse" }));
    sageMaker.on(DescribeCompilationJobCommand).resolves({
      CompilationJobStatus: "COMPLETED",
      CompilationJobArn: "arn:job",
      ModelArtifacts: { S3ModelArtifacts: "s3://b/compiled.tar.gz" },
    } as never);
    const out = (await startCompilation(state, lambdaContext)) as CompilationState;
    expect(out.compilation).toEqual({
      jobName: "edge-mlops-example-classifier-v3-linux-arm64",
      jobArn: "arn:job",
      status: "COMPLETED",
      polls: 0,
      adopted: true,
      artifactUri: "s3://b/compiled.tar.gz",
    });
  });

  it("throttling surfaces as TransientError so the state machine retries", async () => {
    sageMaker
      .on(CreateCompilationJobCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(startCompilation(state, lambdaContext)).rejects.toMatchObject({
      name: "TransientError",
      message: "ThrottlingException: Rate exceeded",
    });
  });

  it("a poll loop is bounded: the last allowed poll of a running job fails", async () => {
    sageMaker.on(DescribeCompilationJobCommand).resolves({ CompilationJobStatus: "INPROGRESS" } as never);
    const running = {
      ...state,
      compilation: { jobName: "j", status: "INPROGRESS", polls: 119, adopted: false },
    };
    expect(((await checkCompilation(running, lambdaContext)) as CompilationState).compilation?.polls).toBe(
      120,
    );
    await expect(
      checkCompilation({ ...running, compilation: { ...running.compilation, polls: 120 } }, lambdaContext),
    ).rejects.toMatchObject({
      name: "PollLimitError",
    });
  });
});

describe("StartPackaging (component strategy)", () => {
  let p: DeploymentPlan;
  beforeEach(async () => {
    fakeAws();
    p = await plan();
  });

  it("stages each artifact with its SHA-256 and creates one component version with a manifest per platform", async () => {
    const out = (await startPackaging({ plan: p, compiled: compiled(p) }, lambdaContext)) as PackagingState;
    const digest = createHash("sha256").update(MODEL_BYTES).digest("base64");
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: ARTIFACT_BUCKET,
      Key: `components/${COMPONENT}/1.0.3/linux-arm64/model.tar.gz`,
      CopySource: `${ARTIFACT_BUCKET}/compiled/linux-arm64/model-linux-arm64.tar.gz`,
      CopySourceIfMatch: '"etag-1"',
      MetadataDirective: "REPLACE",
      Metadata: { "edge-mlops-sha256": digest },
    });
    const call = greengrass.commandCalls(CreateComponentVersionCommand)[0]?.args[0].input;
    const recipe = JSON.parse(new TextDecoder().decode(call?.inlineRecipe)) as Recipe;
    expect(recipe).toMatchObject({
      RecipeFormatVersion: "2020-01-25",
      ComponentName: COMPONENT,
      ComponentVersion: "1.0.3",
      ComponentDependencies: {
        "com.edgemlops.InferenceRuntime": { VersionRequirement: ">=1.0.0 <2.0.0", DependencyType: "HARD" },
      },
      ComponentConfiguration: {
        DefaultConfiguration: {
          ModelName: "edge-mlops-example-classifier",
          ModelVersion: "3",
          ModelArchive: "model.tar.gz",
          Framework: "ONNX",
          InputShape: { input: [1, 16] },
        },
      },
    });
    expect(recipe.Manifests.map((m) => [m.Platform, m.Artifacts])).toEqual([
      [
        { os: "linux", architecture: "amd64" },
        [
          {
            Uri: `s3://${ARTIFACT_BUCKET}/components/${COMPONENT}/1.0.3/linux-x86-64/model.tar.gz`,
            Digest: digest,
            Algorithm: "SHA-256",
            Unarchive: "NONE",
            Permission: { Read: "ALL", Execute: "NONE" },
          },
        ],
      ],
      [
        { os: "linux", architecture: "aarch64" },
        [
          {
            Uri: `s3://${ARTIFACT_BUCKET}/components/${COMPONENT}/1.0.3/linux-arm64/model.tar.gz`,
            Digest: digest,
            Algorithm: "SHA-256",
            Unarchive: "NONE",
            Permission: { Read: "ALL", Execute: "NONE" },
          },
        ],
      ],
    ]);
    expect(call?.clientToken).toMatch(/^[a-f0-9]{64}$/);
    expect(out.components).toEqual([
      {
        componentName: COMPONENT,
        componentVersion: "1.0.3",
        componentVersionArn: `arn:aws:greengrass:us-east-1:000000000000:components:${COMPONENT}:versions:1.0.3`,
      },
    ]);
  });

  it("a retry reuses staged artifacts (HeadObject carries the digest) and sends the same client token", async () => {
    await startPackaging({ plan: p, compiled: compiled(p) }, lambdaContext);
    const firstToken = greengrass.commandCalls(CreateComponentVersionCommand)[0]?.args[0].input.clientToken;
    const digest = createHash("sha256").update(MODEL_BYTES).digest("base64");
    s3.on(HeadObjectCommand).resolves({
      Metadata: { "edge-mlops-sha256": digest },
      ContentLength: MODEL_BYTES.length,
    });
    s3.on(GetObjectCommand).rejects(new Error("must not read again"));
    await startPackaging({ plan: p, compiled: compiled(p) }, lambdaContext);
    expect(greengrass.commandCalls(CreateComponentVersionCommand)[1]?.args[0].input.clientToken).toBe(
      firstToken,
    );
  });

  it("adopts an existing identical component version, refuses one with other artifacts", async () => {
    await startPackaging({ plan: p, compiled: compiled(p) }, lambdaContext);
    const recipe = greengrass.commandCalls(CreateComponentVersionCommand)[0]?.args[0].input
      .inlineRecipe as Uint8Array;
    greengrass
      .on(CreateComponentVersionCommand)
      .rejects(Object.assign(new Error("exists"), { name: "ConflictException" }));
    greengrass.on(GetComponentCommand).resolves({ recipe, recipeOutputFormat: "JSON" });
    await expect(startPackaging({ plan: p, compiled: compiled(p) }, lambdaContext)).resolves.toMatchObject({
      status: "IN_PROGRESS",
    });
    expect(greengrass).toHaveReceivedCommandWith(GetComponentCommand, {
      arn: `arn:aws:greengrass:us-east-1:000000000000:components:${COMPONENT}:versions:1.0.3`,
      recipeOutputFormat: "JSON",
    });

    const other = JSON.parse(new TextDecoder().decode(recipe)) as Recipe;
    (other.Manifests[0]?.Artifacts[0] as { Digest: string }).Digest = "different";
    greengrass.on(GetComponentCommand).resolves({ recipe: new TextEncoder().encode(JSON.stringify(other)) });
    await expect(startPackaging({ plan: p, compiled: compiled(p) }, lambdaContext)).rejects.toMatchObject({
      name: "PackagingFailedError",
      message: expect.stringContaining("already exists with different artifacts"),
    });
  });
});

describe("DeployStage / CheckRollout", () => {
  let p: DeploymentPlan;
  const packaging: PackagingState = {
    strategy: "component",
    status: "DEPLOYABLE",
    polls: 1,
    components: [{ componentName: COMPONENT, componentVersion: "1.0.3" }],
  };
  const start: RolloutState = { index: 0, done: false, touched: [], completed: [] };
  const before = {
    "com.example.Telemetry": { componentVersion: "2.1.0", configurationUpdate: { merge: '{"rate":5}' } },
    [COMPONENT]: { componentVersion: "1.0.2" },
  };

  beforeEach(async () => {
    fakeAws({ existing: { [CANARY_ARN]: before } });
    p = await plan();
  });

  it("merges into the group's latest deployment and sends the stage's rollout, abort and timeout settings", async () => {
    const out = (await deployStage({ plan: p, packaging, rollout: start }, lambdaContext)) as RolloutState;
    expect(greengrass).toHaveReceivedCommandWith(ListDeploymentsCommand, {
      targetArn: CANARY_ARN,
      historyFilter: "LATEST_ONLY",
    });
    expect(greengrass).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId: "old-canary" });
    const sent = greengrass.commandCalls(CreateDeploymentCommand)[0]?.args[0].input;
    expect(sent).toEqual({
      targetArn: CANARY_ARN,
      deploymentName: `${COMPONENT} 1.0.3 (canary)`,
      components: {
        "com.example.Telemetry": before["com.example.Telemetry"],
        [COMPONENT]: { componentVersion: "1.0.3" },
      },
      deploymentPolicies: {
        failureHandlingPolicy: "ROLLBACK",
        componentUpdatePolicy: { action: "NOTIFY_COMPONENTS", timeoutInSeconds: 60 },
        configurationValidationPolicy: { timeoutInSeconds: 60 },
      },
      iotJobConfiguration: {
        jobExecutionsRolloutConfig: { maximumPerMinute: 10 },
        abortConfig: {
          criteriaList: [
            { failureType: "ALL", action: "CANCEL", thresholdPercentage: 50, minNumberOfExecutedThings: 1 },
          ],
        },
        timeoutConfig: { inProgressTimeoutInMinutes: 15 },
      },
      clientToken: clientToken("exec-1", "canary", "deploy"),
      tags: {
        "edge-mlops:execution": "exec-1",
        "edge-mlops:stage": "canary",
        "edge-mlops:previous-deployment": "old-canary",
      },
    });
    expect(out.touched).toEqual([
      {
        stageName: "canary",
        targetArn: CANARY_ARN,
        deploymentId: "dep-2",
        previousDeploymentId: "old-canary",
        previousComponents: before,
      },
    ]);
  });

  it("a retry after CreateDeployment landed keeps the true previous components (not its own)", async () => {
    await deployStage({ plan: p, packaging, rollout: start }, lambdaContext);
    const again = (await deployStage({ plan: p, packaging, rollout: start }, lambdaContext)) as RolloutState;
    expect(greengrass).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
    expect(again.touched).toEqual([
      {
        stageName: "canary",
        targetArn: CANARY_ARN,
        deploymentId: "dep-2",
        previousDeploymentId: "old-canary",
        previousComponents: before,
      },
    ]);
  });

  it("a cancelled latest deployment is merged from but never restored", async () => {
    const world = fakeAws({ existing: { [CANARY_ARN]: before } });
    (world.deployments[0] as { deploymentStatus: string }).deploymentStatus = "CANCELED";
    const out = (await deployStage({ plan: p, packaging, rollout: start }, lambdaContext)) as RolloutState;
    expect(greengrass.commandCalls(CreateDeploymentCommand)[0]?.args[0].input.tags).toEqual({
      "edge-mlops:execution": "exec-1",
      "edge-mlops:stage": "canary",
    });
    expect(out.touched).toEqual([{ stageName: "canary", targetArn: CANARY_ARN, deploymentId: "dep-2" }]);
  });

  it("a group with no deployment gets only the new components and nothing to restore", async () => {
    const out = (await deployStage(
      { plan: p, packaging, rollout: { ...start, index: 1 } },
      lambdaContext,
    )) as RolloutState;
    expect(greengrass).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      targetArn: FLEET_ARN,
      components: { [COMPONENT]: { componentVersion: "1.0.3" } },
    });
    expect(out.touched[0]).toEqual({ stageName: "fleet", targetArn: FLEET_ARN, deploymentId: "dep-2" });
  });

  it("one poll is one GetDeployment and one DescribeJob; passing the last stage marks the rollout done", async () => {
    const deployed = (await deployStage(
      { plan: p, packaging, rollout: { ...start, index: 1 } },
      lambdaContext,
    )) as RolloutState;
    greengrass.resetHistory();
    const checked = (await checkRollout(
      { plan: p, packaging, rollout: deployed },
      lambdaContext,
    )) as RolloutState;
    expect(greengrass.calls()).toHaveLength(1);
    expect(checked).toMatchObject({
      index: 2,
      done: true,
      current: { status: "PASSED", polls: 1, counts: { total: 8, succeeded: 8 } },
    });
  });

  it("measures the stage on the execution's clock ($$.State.EnteredTime), not the Lambda's", async () => {
    fakeAws({ jobCounts: () => ({ numberOfSucceededThings: 1, numberOfInProgressThings: 7 }) });
    const deployed = (await deployStage(
      { plan: p, packaging, rollout: { ...start, index: 1 }, now: "2026-11-24T10:00:00.000Z" },
      lambdaContext,
    )) as RolloutState;
    expect(deployed.current?.startedAt).toBe("2026-11-24T10:00:00.000Z");
    const stage = p.stages[1];
    if (!stage) throw new Error("plan has no fleet stage");
    const late = new Date(Date.parse("2026-11-24T10:00:00.000Z") + (stage.timeoutSeconds + 1) * 1000);
    const checked = (await checkRollout(
      { plan: p, packaging, rollout: deployed, now: late.toISOString() },
      lambdaContext,
    )) as RolloutState;
    expect(checked.current).toMatchObject({ status: "FAILED", reason: expect.stringContaining("timed out") });
  });

  it.each([10, 10_000])("a rollout poll costs the same calls for %i devices", async (devices) => {
    fakeAws({ jobCounts: () => ({ numberOfSucceededThings: devices - 1, numberOfInProgressThings: 1 }) });
    const deployed = (await deployStage(
      { plan: p, packaging, rollout: { ...start, index: 1 } },
      lambdaContext,
    )) as RolloutState;
    greengrass.resetHistory();
    iot.resetHistory();
    const checked = (await checkRollout(
      { plan: p, packaging, rollout: deployed },
      lambdaContext,
    )) as RolloutState;
    expect(checked.current?.counts?.total).toBe(devices);
    expect([greengrass.calls().length, iot.calls().length]).toEqual([1, 1]);
  });
});
