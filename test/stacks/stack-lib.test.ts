import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { describe, expect, it } from "vitest";
import {
  EnvironmentTooLargeError,
  environmentBytes,
  handlerOf,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  projectFunction,
} from "../../stacks/lib/functions.ts";
import { addGrants, allow, flatten, UnexplainedWildcardError } from "../../stacks/lib/nag.ts";

/** cdk-nag keeps suppressions in the CloudFormation Metadata of the role's resources. */
const suppressionsOnPolicy = (stack: Stack) => {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Type: string; Metadata?: { cdk_nag?: { rules_to_suppress: unknown[] } } }
  >;
  const policy = Object.values(resources).find((r) => r.Type === "AWS::IAM::Policy");
  return policy?.Metadata?.cdk_nag?.rules_to_suppress;
};

describe("flatten", () => {
  it("writes references the way cdk-nag reports them", () => {
    expect(flatten({ "Fn::Join": ["", [{ "Fn::GetAtt": ["Bucket1", "Arn"] }, "/in/*"]] })).toBe(
      "<Bucket1.Arn>/in/*",
    );
    expect(flatten({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iot:eu-west-1:1:job/*"]] })).toBe(
      "arn:<AWS::Partition>:iot:eu-west-1:1:job/*",
    );
    expect(flatten("*")).toBe("*");
  });
});

describe("addGrants", () => {
  const setup = () => {
    const stack = new Stack(new App(), "S", { env: { account: "111122223333", region: "eu-west-1" } });
    const role = new Role(stack, "R", { assumedBy: new ServicePrincipal("lambda.amazonaws.com") });
    const bucket = new Bucket(stack, "B");
    return { stack, role, bucket };
  };

  it("suppresses IAM5 for exactly the wildcard resources of a grant, with its reason", () => {
    const { stack, role, bucket } = setup();
    addGrants(role, [
      allow(["s3:GetObject"], [bucket.arnForObjects("in/*")], { wildcardReason: "files under in/" }),
      allow(["s3:ListBucket"], [bucket.bucketArn]),
    ]);
    const bucketId = stack.getLogicalId(bucket.node.defaultChild as never);
    expect(suppressionsOnPolicy(stack)).toEqual([
      {
        id: "AwsSolutions-IAM5",
        reason: "files under in/",
        applies_to: [`Resource::<${bucketId}.Arn>/in/*`],
      },
    ]);
  });

  it("refuses a wildcard resource that comes without a reason", () => {
    const { role } = setup();
    expect(() => addGrants(role, [allow(["sagemaker:ListModelPackages"], ["*"])])).toThrow(
      UnexplainedWildcardError,
    );
  });
});

describe("handlerOf", () => {
  it("turns a module path into SST's file.export form", () => {
    expect(handlerOf("functions/deployment/notify.ts")).toBe("functions/deployment/notify.handler");
    expect(handlerOf("functions/x/y.mjs")).toBe("functions/x/y.handler");
  });
});

describe("environmentBytes", () => {
  it("counts names and values, and unresolved references at their worst case", () => {
    const stack = new Stack(new App(), "S");
    const bucket = new Bucket(stack, "B");
    expect(environmentBytes({ A: "xyz" })).toBe(4);
    expect(environmentBytes({ BUCKET: bucket.bucketName })).toBeGreaterThan(100);
  });

  it("stops the synth when EDGE_MLOPS_CONFIG would push a function past Lambda's 4 KB", () => {
    const stack = new Stack(new App(), "S");
    expect(() =>
      projectFunction(stack, "Big", {
        entry: "functions/deployment/notify.ts",
        description: "too much configuration",
        environment: { EDGE_MLOPS_CONFIG: "x".repeat(LAMBDA_ENVIRONMENT_LIMIT_BYTES) },
      }),
    ).toThrow(EnvironmentTooLargeError);
  });
});
