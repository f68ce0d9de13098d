import { DescribeComponentCommand, GreengrassV2Client } from "@aws-sdk/client-greengrassv2";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateCompilationJobCommand,
  CreateEdgePackagingJobCommand,
  DescribeEdgePackagingJobCommand,
} from "@aws-sdk/client-sagemaker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureFlow } from "../../local/wiring.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";
import { classifierOnnx } from "./onnx-fixtures.ts";

const role = "arn:aws:iam::000000000000:role/sagemaker";

describe("edge packaging with the GreengrassV2Component preset, against the discovered Greengrass service", () => {
  let ep: TestEndpoint;
  beforeAll(async () => {
    // With waits instant (timeScale 0) schedules would fire back to back; this test needs none.
    configureFlow({ autoSchedules: false });
    ep = await startTestEndpoint({ discover: true });
  });
  afterAll(() => ep.dispose());

  it("creates a component version whose ARN the job reports as PresetDeploymentOutput.Artifact", async () => {
    const { s3, sagemaker } = ep.clients;
    await s3.send(new CreateBucketCommand({ Bucket: "models" }));
    await s3.send(
      new PutObjectCommand({ Bucket: "models", Key: "src/classifier.onnx", Body: classifierOnnx() }),
    );
    await sagemaker.send(
      new CreateCompilationJobCommand({
        CompilationJobName: "c1",
        RoleArn: role,
        InputConfig: {
          S3Uri: "s3://models/src/classifier.onnx",
          Framework: "ONNX",
          DataInputConfig: '{"input":[1,16]}',
        },
        OutputConfig: {
          S3OutputLocation: "s3://models/compiled",
          TargetPlatform: { Os: "LINUX", Arch: "X86_64" },
        },
        StoppingCondition: { MaxRuntimeInSeconds: 900 },
      }),
    );
    await ep.sagemaker.settle();
    await sagemaker.send(
      new CreateEdgePackagingJobCommand({
        EdgePackagingJobName: "p1",
        CompilationJobName: "c1",
        ModelName: "classifier",
        ModelVersion: "2.0.0",
        RoleArn: role,
        OutputConfig: {
          S3OutputLocation: "s3://models/packaged",
          PresetDeploymentType: "GreengrassV2Component",
          PresetDeploymentConfig: JSON.stringify({
            ComponentName: "com.example.models.Classifier",
            ComponentVersion: "2.0.0",
            PlatformOS: "linux",
          }),
        },
      }),
    );
    const job = await until(
      () => sagemaker.send(new DescribeEdgePackagingJobCommand({ EdgePackagingJobName: "p1" })),
      (j) => j.EdgePackagingJobStatus === "COMPLETED" || j.EdgePackagingJobStatus === "FAILED",
    );
    expect(job.EdgePackagingJobStatus).toBe("COMPLETED");
    expect(job.PresetDeploymentOutput).toEqual({
      Type: "GreengrassV2Component",
      Status: "COMPLETED",
      Artifact:
        "arn:aws:greengrass:us-east-1:000000000000:components:com.example.models.Classifier:versions:2.0.0",
    });
    const gg = new GreengrassV2Client({ endpoint: ep.url, region, credentials });
    try {
      const component = await gg.send(
        new DescribeComponentCommand({ arn: job.PresetDeploymentOutput?.Artifact }),
      );
      expect(component).toMatchObject({
        componentName: "com.example.models.Classifier",
        componentVersion: "2.0.0",
        publisher: "AWS",
      });
    } finally {
      gg.destroy();
    }
  });
});
