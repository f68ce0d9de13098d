import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  clientToken,
  executionName,
  parseModelPackageArn,
  sageMakerJobName,
} from "../../functions/deployment/names.ts";

const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

describe("deterministic names", () => {
  it("job names read as group-version-target when they fit", () => {
    expect(sageMakerJobName("edge-mlops-example-classifier", 3, "linux-arm64")).toBe(
      "edge-mlops-example-classifier-v3-linux-arm64",
    );
    expect(sageMakerJobName("g", 12, "linux-arm64", "pkg")).toBe("g-v12-linux-arm64-pkg");
  });

  it("long names are shortened with a hash, stay valid, and stay distinct", () => {
    const group = `a${"b".repeat(62)}`;
    const x86 = sageMakerJobName(group, 1234, "linux-x86-64");
    const arm = sageMakerJobName(group, 1234, "linux-arm64");
    expect(x86).toMatch(JOB_NAME);
    expect(x86).toHaveLength(63);
    expect(x86).not.toBe(arm);
    expect(sageMakerJobName(group, 1234, "linux-x86-64")).toBe(x86);
  });

  it("every group/version/target gives a valid SageMaker job name (property)", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.stringMatching(/^[a-z0-9](-?[a-z0-9]){0,23}$/),
        (group, version, target) => JOB_NAME.test(sageMakerJobName(group, version, target)),
      ),
    );
  });

  it("execution names: approval by version, schedule by version and date, at most 80 characters", () => {
    expect(executionName("edge-mlops-example-classifier", 3)).toBe("edge-mlops-example-classifier-v3");
    expect(executionName("edge-mlops-example-classifier", 3, "20261125")).toBe(
      "edge-mlops-example-classifier-v3-20261125",
    );
    const long = executionName(`a${"b".repeat(62)}`, 99999, "20261125");
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[a-zA-Z0-9_-]+$/);
  });

  it("client tokens are stable, distinct per purpose and valid for Greengrass", () => {
    expect(clientToken("exec", "canary", "deploy")).toBe(clientToken("exec", "canary", "deploy"));
    expect(clientToken("exec", "canary", "deploy")).not.toBe(clientToken("exec", "canary", "rollback"));
    expect(clientToken("exec", "canary", "deploy")).toMatch(/^[a-zA-Z0-9-]{1,64}$/);
  });

  it("parses versioned model package ARNs only", () => {
    expect(parseModelPackageArn("arn:aws:sagemaker:us-east-1:000000000000:model-package/my-group/7")).toEqual(
      { group: "my-group", version: 7 },
    );
    expect(
      parseModelPackageArn("arn:aws:sagemaker:us-east-1:000000000000:model-package/my-group"),
    ).toBeUndefined();
    expect(
      parseModelPackageArn("arn:aws:sagemaker:us-east-1:000000000000:model-package-group/my-group"),
    ).toBeUndefined();
  });
});
