import { readFileSync } from "node:fs";
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
  UpdateModelPackageCommand,
} from "@aws-sdk/client-sagemaker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEndpoint, type TestEndpoint } from "./helpers.ts";

describe("local SageMaker model registry", () => {
  let ep: TestEndpoint;
  const group = "classifier";
  const spec = {
    Containers: [
      {
        Image: "local/onnxruntime:1",
        ModelDataUrl: "s3://models/classifier/model.tar.gz",
        Framework: "ONNX",
      },
    ],
    SupportedContentTypes: ["application/json"],
    SupportedResponseMIMETypes: ["application/json"],
  };

  beforeAll(async () => {
    ep = await startTestEndpoint();
  });
  afterAll(() => ep.dispose());

  it("creates a group once and describes and lists it", async () => {
    const sm = ep.clients.sagemaker;
    const created = await sm.send(
      new CreateModelPackageGroupCommand({
        ModelPackageGroupName: group,
        ModelPackageGroupDescription: "edge",
      }),
    );
    expect(created.ModelPackageGroupArn).toBe(
      "arn:aws:sagemaker:us-east-1:000000000000:model-package-group/classifier",
    );
    await expect(
      sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group })),
    ).rejects.toMatchObject({
      name: "ValidationException",
      message: expect.stringContaining("already exists"),
    });
    await expect(
      sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "bad_name" })),
    ).rejects.toMatchObject({
      name: "ValidationException",
    });
    const described = await sm.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: group }));
    expect(described).toMatchObject({
      ModelPackageGroupName: group,
      ModelPackageGroupStatus: "Completed",
      ModelPackageGroupDescription: "edge",
    });
    expect(described.CreationTime).toBeInstanceOf(Date);
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: "another" }));
    const listed = await sm.send(
      new ListModelPackageGroupsCommand({ SortBy: "Name", SortOrder: "Descending" }),
    );
    expect(listed.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual([
      "classifier",
      "another",
    ]);
    await expect(
      sm.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: "nope" })),
    ).rejects.toMatchObject({
      name: "ValidationException",
    });
  });

  it("versions packages, keeps their metadata, and emits a state change event on creation", async () => {
    const sm = ep.clients.sagemaker;
    const before = ep.emitted.length;
    const first = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: group,
        InferenceSpecification: spec,
        CustomerMetadataProperties: { stage: "dev" },
      }),
    );
    const second = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: group,
        InferenceSpecification: spec,
        ModelApprovalStatus: "Rejected",
      }),
    );
    expect(first.ModelPackageArn).toBe("arn:aws:sagemaker:us-east-1:000000000000:model-package/classifier/1");
    expect(second.ModelPackageArn).toBe(
      "arn:aws:sagemaker:us-east-1:000000000000:model-package/classifier/2",
    );
    expect(ep.emitted.length - before).toBe(2);

    const described = await sm.send(
      new DescribeModelPackageCommand({ ModelPackageName: first.ModelPackageArn }),
    );
    expect(described).toMatchObject({
      ModelPackageGroupName: group,
      ModelPackageVersion: 1,
      ModelPackageName: group,
      ModelApprovalStatus: "PendingManualApproval",
      ModelPackageStatus: "Completed",
      InferenceSpecification: spec,
      CustomerMetadataProperties: { stage: "dev" },
    });
    await expect(
      sm.send(new DescribeModelPackageCommand({ ModelPackageName: `${first.ModelPackageArn}9` })),
    ).rejects.toMatchObject({
      name: "ValidationException",
      message: expect.stringContaining("does not exist"),
    });
    await expect(
      sm.send(
        new CreateModelPackageCommand({
          ModelPackageGroupName: "missing-group",
          InferenceSpecification: spec,
        }),
      ),
    ).rejects.toMatchObject({
      name: "ValidationException",
    });
  });

  it("keeps the API call successful when a bus listener fails, and records the failure", async () => {
    const unsubscribe = ep.context.onEvent?.(() => {
      throw new Error("router down");
    });
    try {
      const out = await ep.clients.sagemaker.send(
        new CreateModelPackageCommand({ ModelPackageGroupName: "another", InferenceSpecification: spec }),
      );
      expect(ep.deliveryErrors.at(-1)).toMatchObject({
        error: "router down",
        event: { Resources: [out.ModelPackageArn] },
      });
    } finally {
      unsubscribe?.();
    }
  });

  it("returns the same package for a repeated ClientToken", async () => {
    const sm = ep.clients.sagemaker;
    const input = {
      ModelPackageGroupName: "another",
      InferenceSpecification: spec,
      ClientToken: "retry-token-1",
    };
    const a = await sm.send(new CreateModelPackageCommand(input));
    const b = await sm.send(new CreateModelPackageCommand(input));
    expect(b.ModelPackageArn).toBe(a.ModelPackageArn);
    const listed = await sm.send(new ListModelPackagesCommand({ ModelPackageGroupName: "another" }));
    expect(
      listed.ModelPackageSummaryList?.filter((p) => p.ModelPackageArn === a.ModelPackageArn),
    ).toHaveLength(1);
    expect(listed.ModelPackageSummaryList).toHaveLength(2);
  });

  it("lists with filters, sort order and pagination", async () => {
    const sm = ep.clients.sagemaker;
    for (let i = 0; i < 3; i++)
      await sm.send(
        new CreateModelPackageCommand({ ModelPackageGroupName: group, InferenceSpecification: spec }),
      );
    const desc = await sm.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: group,
        SortBy: "CreationTime",
        SortOrder: "Descending",
      }),
    );
    expect(desc.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([5, 4, 3, 2, 1]);
    const rejected = await sm.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: group, ModelApprovalStatus: "Rejected" }),
    );
    expect(rejected.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([2]);
    const versions: number[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sm.send(
        new ListModelPackagesCommand({ ModelPackageGroupName: group, MaxResults: 2, NextToken }),
      );
      versions.push(...(page.ModelPackageSummaryList ?? []).map((p) => p.ModelPackageVersion as number));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    expect(pages).toBe(3);
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    // Without a group the default type is Unversioned, as on AWS.
    const unversioned = await sm.send(new ListModelPackagesCommand({}));
    expect(unversioned.ModelPackageSummaryList).toEqual([]);
    await expect(
      sm.send(new ListModelPackagesCommand({ ModelPackageGroupName: group, SortOrder: "Sideways" as never })),
    ).rejects.toMatchObject({
      name: "ValidationException",
    });
  });

  it("emits exactly AWS's Model Package State Change event when the approval changes, and only then", async () => {
    const sm = ep.clients.sagemaker;
    const arn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/classifier/1";
    const before = ep.emitted.length;
    await sm.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: arn,
        ModelApprovalStatus: "Approved",
        ApprovalDescription: "QA passed",
      }),
    );
    await sm.send(new UpdateModelPackageCommand({ ModelPackageArn: arn, ModelApprovalStatus: "Approved" }));
    await sm.send(
      new UpdateModelPackageCommand({ ModelPackageArn: arn, CustomerMetadataProperties: { owner: "ml" } }),
    );
    const events = ep.emitted.slice(before);
    expect(events).toHaveLength(1);
    const pkg = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
    const event = events[0];
    expect(event?.Source).toBe("aws.sagemaker");
    expect(event?.DetailType).toBe("SageMaker Model Package State Change");
    expect(event?.Resources).toEqual([arn]);
    const detail = JSON.parse(event?.Detail ?? "{}");
    expect(Object.keys(detail).sort()).toEqual(
      [
        "ApprovalDescription",
        "CertifyForMarketplace",
        "CreatedBy",
        "CreationTime",
        "CustomerMetadataProperties",
        "InferenceSpecification",
        "LastModifiedBy",
        "LastModifiedTime",
        "ModelApprovalStatus",
        "ModelPackageArn",
        "ModelPackageGroupName",
        "ModelPackageName",
        "ModelPackageStatus",
        "ModelPackageStatusDetails",
        "ModelPackageVersion",
      ].sort(),
    );
    expect(detail).toMatchObject({
      ModelPackageGroupName: group,
      ModelPackageVersion: 1,
      ModelPackageArn: arn,
      ModelPackageName: group,
      ModelApprovalStatus: "Approved",
      ApprovalDescription: "QA passed",
      ModelPackageStatus: "Completed",
      InferenceSpecification: spec,
      CustomerMetadataProperties: { stage: "dev" },
      CreationTime: pkg.CreationTime?.getTime(),
    });
    expect(typeof detail.LastModifiedTime).toBe("number");
    // Every field of the pipeline's recorded AWS event is present, with the same JSON types.
    const fixture = JSON.parse(
      readFileSync(new URL("../../events/sagemaker/model-package-approved.json", import.meta.url), "utf8"),
    );
    for (const [key, value] of Object.entries(fixture.detail as Record<string, unknown>)) {
      expect(typeof detail[key], key).toBe(typeof value);
    }
    expect(pkg.CustomerMetadataProperties).toEqual({ stage: "dev", owner: "ml" });
    await expect(
      sm.send(new UpdateModelPackageCommand({ ModelPackageArn: arn, ModelApprovalStatus: "Maybe" as never })),
    ).rejects.toMatchObject({
      name: "ValidationException",
    });
  });
});
