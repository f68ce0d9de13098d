import "./env.ts";
import { ListModelPackagesCommand, SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/validate.ts";
import { approvalEventPattern } from "../../events/patterns.ts";
import approved from "../../events/sagemaker/model-package-approved.json" with { type: "json" };
import rejected from "../../events/sagemaker/model-package-rejected.json" with { type: "json" };
import redeploy from "../../events/scheduler/redeploy.json" with { type: "json" };
import { handler } from "../../functions/deployment/start-deployment.ts";
import { lambdaContext } from "../fixtures/deployment/context.ts";

const sfn = mockClient(SFNClient);
const sageMaker = mockClient(SageMakerClient);
const STATE_MACHINE = process.env.STATE_MACHINE_ARN;
const ARN3 = "arn:aws:sagemaker:us-east-1:000000000000:model-package/edge-mlops-example-classifier/3";

describe("start-deployment", () => {
  beforeEach(() => {
    sfn.reset();
    sageMaker.reset();
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: `arn:aws:states:us-east-1:000000000000:execution:edge-deployment:${input.name}`,
      startDate: new Date(),
    }));
  });

  it("the approval rule pattern matches the fixture's fields and the configured groups", () => {
    expect(approvalEventPattern(loadConfig())).toEqual({
      source: ["aws.sagemaker"],
      "detail-type": ["SageMaker Model Package State Change"],
      detail: { ModelApprovalStatus: ["Approved"], ModelPackageGroupName: ["edge-mlops-example-classifier"] },
    });
    expect(approved.source).toBe("aws.sagemaker");
    expect(approved["detail-type"]).toBe("SageMaker Model Package State Change");
  });

  it("an approval starts one execution named by group and version", async () => {
    const out = await handler(structuredClone(approved), lambdaContext);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: "edge-mlops-example-classifier-v3",
      input: JSON.stringify({ modelPackageArn: ARN3, trigger: "approval" }),
    });
    expect(out.started).toHaveLength(1);
  });

  it("a duplicate delivery is success: ExecutionAlreadyExists means it already started", async () => {
    await handler(structuredClone(approved), lambdaContext);
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("exists"), { name: "ExecutionAlreadyExists" }));
    const second = await handler(structuredClone(approved), lambdaContext);
    expect(second).toEqual({
      started: [],
      alreadyStarted: [{ name: "edge-mlops-example-classifier-v3", modelPackageArn: ARN3 }],
      skipped: [],
    });
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name)).toEqual([
      "edge-mlops-example-classifier-v3",
      "edge-mlops-example-classifier-v3",
    ]);
  });

  it("a rejection or an unconfigured group starts nothing and says why", async () => {
    expect((await handler(structuredClone(rejected), lambdaContext)).skipped).toEqual([
      { reason: "status Rejected, not Approved", group: "edge-mlops-example-classifier" },
    ]);
    const other = structuredClone(approved);
    other.detail.ModelPackageArn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/other/1";
    expect((await handler(other, lambdaContext)).skipped).toEqual([
      { reason: "group not configured", group: "other" },
    ]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it("the schedule deploys the latest Approved package of each group, named with the date", async () => {
    sageMaker.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        {
          ModelPackageArn: ARN3,
          ModelPackageStatus: "Completed",
          CreationTime: new Date(),
          ModelPackageName: "x",
        },
      ],
    });
    await handler(structuredClone(redeploy), lambdaContext);
    expect(sageMaker).toHaveReceivedCommandWith(ListModelPackagesCommand, {
      ModelPackageGroupName: "edge-mlops-example-classifier",
      ModelApprovalStatus: "Approved",
      SortBy: "CreationTime",
      SortOrder: "Descending",
      MaxResults: 1,
    });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: "edge-mlops-example-classifier-v3-20261125",
      input: JSON.stringify({ modelPackageArn: ARN3, trigger: "schedule" }),
    });
  });

  it("a group with no Approved package is skipped; an unknown event is refused with a clear error", async () => {
    sageMaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    expect((await handler(structuredClone(redeploy), lambdaContext)).skipped).toEqual([
      { reason: "no Approved model package", group: "edge-mlops-example-classifier" },
    ]);
    await expect(
      handler({ source: "aws.s3", "detail-type": "Object Created" }, lambdaContext),
    ).rejects.toMatchObject({
      name: "InvalidInputError",
      message: expect.stringContaining("unsupported event"),
    });
  });
});
