import { describe, expect, it } from "vitest";
import { approvalEventPattern } from "../../events/patterns.ts";
import approved from "../../events/sagemaker/model-package-approved.json" with { type: "json" };
import rejected from "../../events/sagemaker/model-package-rejected.json" with { type: "json" };
import { InvalidEventPatternError, matchesPattern } from "../../local/eventbridge/matcher.ts";

const event = {
  source: "aws.sagemaker",
  "detail-type": "SageMaker Model Package State Change",
  resources: ["arn:aws:sagemaker:us-east-1:000000000000:model-package/g/3"],
  detail: {
    ModelPackageGroupName: "edge-mlops-example-classifier",
    ModelPackageVersion: 3,
    ModelApprovalStatus: "Approved",
    Score: 0.87,
    Tags: ["prod", "edge"],
    Empty: "",
    Nothing: null,
    Nested: { Level: { Deep: "yes" } },
    SourceIp: "10.1.2.3",
    File: "capture/fleet/model/2026/11/24/23/part-0001.jsonl",
  },
};

// One row per semantic: [what, pattern, expected].
const table: Array<[string, object, boolean]> = [
  ["exact string", { source: ["aws.sagemaker"] }, true],
  ["exact string, other value", { source: ["aws.s3"] }, false],
  ["OR within a leaf", { source: ["aws.s3", "aws.sagemaker"] }, true],
  ["AND across keys", { source: ["aws.sagemaker"], "detail-type": ["Other"] }, false],
  ["number is type-sensitive", { detail: { ModelPackageVersion: ["3"] } }, false],
  ["number exact", { detail: { ModelPackageVersion: [3] } }, true],
  ["null matches null", { detail: { Nothing: [null] } }, true],
  ["empty string matches empty string", { detail: { Empty: [""] } }, true],
  ["array value: any element", { detail: { Tags: ["edge"] } }, true],
  ["array value: no element", { detail: { Tags: ["dev"] } }, false],
  ["prefix", { detail: { File: [{ prefix: "capture/" }] } }, true],
  ["prefix miss", { detail: { File: [{ prefix: "results/" }] } }, false],
  ["prefix equals-ignore-case", { source: [{ prefix: { "equals-ignore-case": "AWS." } }] }, true],
  ["suffix", { detail: { File: [{ suffix: ".jsonl" }] } }, true],
  ["equals-ignore-case", { detail: { ModelApprovalStatus: [{ "equals-ignore-case": "approved" }] } }, true],
  ["wildcard", { detail: { File: [{ wildcard: "capture/*/model/*.jsonl" }] } }, true],
  ["wildcard miss", { detail: { File: [{ wildcard: "capture/*.gz" }] } }, false],
  ["anything-but value", { detail: { ModelApprovalStatus: [{ "anything-but": "Rejected" }] } }, true],
  [
    "anything-but list hit",
    { detail: { ModelApprovalStatus: [{ "anything-but": ["Approved", "Rejected"] }] } },
    false,
  ],
  ["anything-but prefix", { source: [{ "anything-but": { prefix: "aws." } }] }, false],
  ["anything-but prefix miss", { source: [{ "anything-but": { prefix: "edge-mlops" } }] }, true],
  ["exists true", { detail: { Score: [{ exists: true }] } }, true],
  ["exists false on missing", { detail: { Missing: [{ exists: false }] } }, true],
  ["exists false on present", { detail: { Score: [{ exists: false }] } }, false],
  ["missing field fails a literal", { detail: { Missing: ["x"] } }, false],
  ["numeric range", { detail: { Score: [{ numeric: [">", 0.5, "<=", 0.9] }] } }, true],
  ["numeric range miss", { detail: { Score: [{ numeric: [">=", 0.9] }] } }, false],
  ["numeric on a string", { detail: { ModelApprovalStatus: [{ numeric: [">", 0] }] } }, false],
  ["nested object", { detail: { Nested: { Level: { Deep: ["yes"] } } } }, true],
  ["nested object miss", { detail: { Nested: { Level: { Deep: ["no"] } } } }, false],
  ["nested pattern against a scalar", { source: { inner: ["x"] } }, false],
  ["cidr", { detail: { SourceIp: [{ cidr: "10.0.0.0/8" }] } }, true],
  ["cidr miss", { detail: { SourceIp: [{ cidr: "192.168.0.0/16" }] } }, false],
  ["$or", { $or: [{ source: ["aws.s3"] }, { detail: { ModelPackageVersion: [3] } }] }, true],
  ["$or none", { $or: [{ source: ["aws.s3"] }, { detail: { ModelPackageVersion: [4] } }] }, false],
  ["empty pattern matches everything", {}, true],
];

describe("EventBridge pattern matching", () => {
  it.each(table)("%s", (_what, pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it("the approval rule from events/ takes the Approved fixture and refuses the Rejected one", () => {
    const pattern = approvalEventPattern({
      groups: [{ modelPackageGroupName: approved.detail.ModelPackageGroupName } as never],
    });
    expect(matchesPattern(pattern, approved)).toBe(true);
    expect(matchesPattern(pattern, rejected)).toBe(false);
    expect(
      matchesPattern(
        approvalEventPattern({ groups: [{ modelPackageGroupName: "other" } as never] }),
        approved,
      ),
    ).toBe(false);
  });

  it.each([
    ["leaf that is a scalar", { source: "aws.sagemaker" }],
    ["unknown filter", { source: [{ regex: ".*" }] }],
    ["numeric with a bad operator", { detail: { Score: [{ numeric: ["~", 1] }] } }],
    ["filter with two keys", { source: [{ prefix: "a", suffix: "b" }] }],
    ["exists with a string", { source: [{ exists: "yes" }] }],
  ])("refuses a pattern with a %s", (_what, pattern) => {
    expect(() => matchesPattern(pattern, event)).toThrow(InvalidEventPatternError);
  });
});
