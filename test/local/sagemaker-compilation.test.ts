import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateCompilationJobCommand,
  type CreateCompilationJobCommandInput,
  CreateEdgePackagingJobCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeCompilationJobCommand,
  type DescribeCompilationJobCommandOutput,
  DescribeEdgePackagingJobCommand,
  ListCompilationJobsCommand,
  StopCompilationJobCommand,
} from "@aws-sdk/client-sagemaker";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";
import { classifierOnnx, tarGz, untarGz } from "./onnx-fixtures.ts";

const role = "arn:aws:iam::000000000000:role/sagemaker";

function job(
  name: string,
  model: string,
  framework = "ONNX",
  dataInputConfig = '{"input":[1,16]}',
): CreateCompilationJobCommandInput {
  return {
    CompilationJobName: name,
    RoleArn: role,
    InputConfig: { S3Uri: model, Framework: framework as never, DataInputConfig: dataInputConfig },
    OutputConfig: { S3OutputLocation: "s3://models/compiled/", TargetDevice: "jetson_xavier" },
    StoppingCondition: { MaxRuntimeInSeconds: 900 },
  };
}

describe("local SageMaker compilation and edge packaging", () => {
  let ep: TestEndpoint;

  beforeAll(async () => {
    ep = await startTestEndpoint({
      timeScale: 0.005,
      faults: { failJobs: [{ kind: "compilation", pattern: "^forced-", reason: "ClientError: injected" }] },
    });
    const s3 = ep.clients.s3;
    await s3.send(new CreateBucketCommand({ Bucket: "models" }));
    await s3.send(
      new PutObjectCommand({ Bucket: "models", Key: "src/classifier.onnx", Body: classifierOnnx() }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: "models",
        Key: "src/model.tar.gz",
        Body: await tarGz({ "classifier.onnx": classifierOnnx(), "README.txt": "x" }),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: "models",
        Key: "src/corrupt.onnx",
        Body: Buffer.from("this is not a protobuf model at all"),
      }),
    );
  });
  afterAll(() => ep.dispose());

  const describeJob = (name: string) =>
    ep.clients.sagemaker.send(new DescribeCompilationJobCommand({ CompilationJobName: name }));
  const finished = (name: string) =>
    until(
      () => describeJob(name),
      (j: DescribeCompilationJobCommandOutput) =>
        ["COMPLETED", "FAILED", "STOPPED"].includes(j.CompilationJobStatus ?? ""),
    );

  it("moves an ONNX job STARTING → INPROGRESS → COMPLETED and uploads a loadable optimized model", async () => {
    const sm = ep.clients.sagemaker;
    await sm.send(new CreateCompilationJobCommand(job("classifier-xavier", "s3://models/src/model.tar.gz")));
    const seen: string[] = [];
    const done = await until(
      async () => {
        const j = await describeJob("classifier-xavier");
        if (seen.at(-1) !== j.CompilationJobStatus) seen.push(j.CompilationJobStatus as string);
        return j;
      },
      (j) => j.CompilationJobStatus === "COMPLETED" || j.CompilationJobStatus === "FAILED",
    );
    expect(seen).toEqual(["STARTING", "INPROGRESS", "COMPLETED"]);
    expect(done.FailureReason).toBeUndefined();
    expect(done.ModelArtifacts?.S3ModelArtifacts).toBe("s3://models/compiled/model-jetson_xavier.tar.gz");
    expect(done.CompilationStartTime?.getTime()).toBeLessThanOrEqual(done.CompilationEndTime?.getTime() ?? 0);
    // 5 s starting + at least 40 s in progress, in clock time.
    expect(
      (done.CompilationEndTime?.getTime() ?? 0) - (done.CreationTime?.getTime() ?? 0),
    ).toBeGreaterThanOrEqual(45_000);

    const object = await ep.clients.s3.send(
      new GetObjectCommand({ Bucket: "models", Key: "compiled/model-jetson_xavier.tar.gz" }),
    );
    const bytes = await object.Body?.transformToByteArray();
    expect(done.ModelDigests?.ArtifactDigest).toBe(
      createHash("sha256")
        .update(bytes ?? new Uint8Array())
        .digest("hex"),
    );
    const dir = await untarGz(bytes ?? new Uint8Array());
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "compiled-model.json"), "utf8"));
      expect(manifest).toMatchObject({
        framework: "ONNX",
        target: "jetson_xavier",
        graphOptimizationLevel: "all",
        modelFile: "model.onnx",
        sourceModel: "s3://models/src/model.tar.gz",
        inputs: [{ name: "input", type: "float32", shape: [1, 16] }],
        outputs: [{ name: "probabilities", type: "float32" }],
      });
      const model = readFileSync(join(dir, "model.onnx"));
      expect(manifest.modelSha256).toBe(createHash("sha256").update(model).digest("hex"));
      const session = await InferenceSession.create(model);
      const out = await session.run({
        input: new Tensor("float32", new Float32Array(16).fill(0.5), [1, 16]),
      });
      expect(out.probabilities?.dims).toEqual([1, 3]);
      await session.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("compiles the model a package points at, and refuses a duplicate job name with ResourceInUse", async () => {
    const sm = ep.clients.sagemaker;
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "g" }));
    const { ModelPackageArn } = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: "g",
        InferenceSpecification: {
          Containers: [
            {
              Image: "x",
              ModelDataUrl: "s3://models/src/classifier.onnx",
              Framework: "ONNX",
              ModelInput: { DataInputConfig: '{"input":[1,16]}' },
            },
          ],
        },
      }),
    );
    await sm.send(
      new CreateCompilationJobCommand({
        CompilationJobName: "from-package",
        RoleArn: role,
        ModelPackageVersionArn: ModelPackageArn,
        OutputConfig: { S3OutputLocation: "s3://models/pkg", TargetPlatform: { Os: "LINUX", Arch: "ARM64" } },
        StoppingCondition: { MaxRuntimeInSeconds: 900 },
      }),
    );
    await expect(
      sm.send(new CreateCompilationJobCommand(job("from-package", "s3://models/src/classifier.onnx"))),
    ).rejects.toMatchObject({
      name: "ResourceInUse",
    });
    const done = await finished("from-package");
    expect(done.CompilationJobStatus).toBe("COMPLETED");
    expect(done.ModelArtifacts?.S3ModelArtifacts).toBe("s3://models/pkg/classifier-linux_arm64.tar.gz");
  });

  it("fails a non-ONNX framework with the reason that it needs SageMaker Neo", async () => {
    await ep.clients.sagemaker.send(
      new CreateCompilationJobCommand(job("torch-model", "s3://models/src/model.tar.gz", "PYTORCH")),
    );
    const done = await finished("torch-model");
    expect(done.CompilationJobStatus).toBe("FAILED");
    expect(done.FailureReason).toMatch(
      /PYTORCH needs SageMaker Neo, which is not available on the local endpoint/,
    );
    expect(done.ModelArtifacts).toBeUndefined();
  });

  it("fails a corrupt model with ONNX Runtime's own message", async () => {
    let runtimeMessage = "";
    try {
      await InferenceSession.create(Buffer.from("this is not a protobuf model at all"));
    } catch (error) {
      runtimeMessage = (error as Error).message;
    }
    expect(runtimeMessage).not.toBe("");
    await ep.clients.sagemaker.send(
      new CreateCompilationJobCommand(job("corrupt", "s3://models/src/corrupt.onnx")),
    );
    const done = await finished("corrupt");
    expect(done.CompilationJobStatus).toBe("FAILED");
    expect(done.FailureReason).toBe(`ClientError: ONNX Runtime could not load the model: ${runtimeMessage}`);
  });

  it("fails a DataInputConfig that does not match the model, a missing model, and a forced failure", async () => {
    const sm = ep.clients.sagemaker;
    await sm.send(
      new CreateCompilationJobCommand(
        job("wrong-shape", "s3://models/src/classifier.onnx", "ONNX", '{"input":[1,8]}'),
      ),
    );
    await sm.send(
      new CreateCompilationJobCommand(
        job("wrong-name", "s3://models/src/classifier.onnx", "ONNX", '{"x":[1,16]}'),
      ),
    );
    await sm.send(new CreateCompilationJobCommand(job("no-model", "s3://models/src/missing.onnx")));
    await sm.send(new CreateCompilationJobCommand(job("forced-fail", "s3://models/src/classifier.onnx")));
    expect((await finished("wrong-shape")).FailureReason).toContain(
      'input "input" has shape [N, 16] in the model, DataInputConfig gives [1, 8]',
    );
    expect((await finished("wrong-name")).FailureReason).toContain(
      'DataInputConfig names input "x", but the model\'s inputs are: input',
    );
    expect((await finished("no-model")).FailureReason).toContain(
      "Unable to download the model from s3://models/src/missing.onnx",
    );
    expect(await finished("forced-fail")).toMatchObject({
      CompilationJobStatus: "FAILED",
      FailureReason: "ClientError: injected",
    });
  });

  it("validates input, answers ResourceNotFound for an unknown job, stops a running job and lists by status", async () => {
    const sm = ep.clients.sagemaker;
    await expect(describeJob("never-created")).rejects.toMatchObject({ name: "ResourceNotFound" });
    await expect(
      sm.send(
        new CreateCompilationJobCommand({
          ...job("both-targets", "s3://models/src/classifier.onnx"),
          OutputConfig: {
            S3OutputLocation: "s3://models/x",
            TargetDevice: "jetson_xavier",
            TargetPlatform: { Os: "LINUX", Arch: "X86_64" },
          },
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException" });
    await sm.send(new CreateCompilationJobCommand(job("to-stop", "s3://models/src/classifier.onnx")));
    await sm.send(new StopCompilationJobCommand({ CompilationJobName: "to-stop" }));
    expect((await finished("to-stop")).CompilationJobStatus).toBe("STOPPED");
    await expect(
      sm.send(new StopCompilationJobCommand({ CompilationJobName: "to-stop" })),
    ).rejects.toMatchObject({ name: "ValidationException" });
    const failed = await sm.send(new ListCompilationJobsCommand({ StatusEquals: "FAILED", SortBy: "Name" }));
    expect(failed.CompilationJobSummaries?.map((j) => j.CompilationJobName)).toEqual([
      "corrupt",
      "forced-fail",
      "no-model",
      "torch-model",
      "wrong-name",
      "wrong-shape",
    ]);
  });

  it("packages a compiled model; the Greengrass preset reports FAILED when no Greengrass service runs", async () => {
    const sm = ep.clients.sagemaker;
    const common = {
      CompilationJobName: "classifier-xavier",
      ModelName: "classifier",
      ModelVersion: "1.0.0",
      RoleArn: role,
    };
    await sm.send(
      new CreateEdgePackagingJobCommand({
        ...common,
        EdgePackagingJobName: "pack-plain",
        OutputConfig: { S3OutputLocation: "s3://models/packaged" },
      }),
    );
    await sm.send(
      new CreateEdgePackagingJobCommand({
        ...common,
        EdgePackagingJobName: "pack-gg",
        OutputConfig: {
          S3OutputLocation: "s3://models/packaged-gg",
          PresetDeploymentType: "GreengrassV2Component",
          PresetDeploymentConfig: '{"ComponentName":"com.example.Classifier","ComponentVersion":"1.0.0"}',
        },
      }),
    );
    await sm.send(
      new CreateEdgePackagingJobCommand({
        ...common,
        CompilationJobName: "torch-model",
        EdgePackagingJobName: "pack-failed-compile",
        OutputConfig: { S3OutputLocation: "s3://models/x" },
      }),
    );
    const describe = (name: string) =>
      sm.send(new DescribeEdgePackagingJobCommand({ EdgePackagingJobName: name }));
    const done = (name: string) =>
      until(
        () => describe(name),
        (j) => ["COMPLETED", "FAILED", "STOPPED"].includes(j.EdgePackagingJobStatus ?? ""),
      );
    const plain = await done("pack-plain");
    expect(plain).toMatchObject({
      EdgePackagingJobStatus: "COMPLETED",
      ModelArtifact: "s3://models/packaged/classifier-1.0.0.tar.gz",
    });
    const object = await ep.clients.s3.send(
      new GetObjectCommand({ Bucket: "models", Key: "packaged/classifier-1.0.0.tar.gz" }),
    );
    const bytes = await object.Body?.transformToByteArray();
    expect(plain.ModelSignature).toBe(
      createHash("sha256")
        .update(bytes ?? new Uint8Array())
        .digest("hex"),
    );
    const dir = await untarGz(bytes ?? new Uint8Array());
    try {
      expect(JSON.parse(readFileSync(join(dir, "edge-package.json"), "utf8"))).toMatchObject({
        modelName: "classifier",
        modelVersion: "1.0.0",
        compilationJobName: "classifier-xavier",
      });
      expect(readFileSync(join(dir, "model.onnx")).length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const gg = await done("pack-gg");
    expect(gg.EdgePackagingJobStatus).toBe("COMPLETED");
    expect(gg.PresetDeploymentOutput).toMatchObject({
      Type: "GreengrassV2Component",
      Status: "FAILED",
      StatusMessage: expect.stringContaining("greengrass"),
    });
    expect(await done("pack-failed-compile")).toMatchObject({
      EdgePackagingJobStatus: "FAILED",
      EdgePackagingJobStatusMessage: "Compilation job torch-model is FAILED, not COMPLETED",
    });
  });
});
