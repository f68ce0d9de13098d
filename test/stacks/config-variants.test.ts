import type { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeMlopsConfig } from "../../config/types.ts";
import { loadConfig } from "../../config/validate.ts";
import { stackTestConfig } from "./fixtures.ts";
import { type SynthesizedApp, synthApp } from "./synth.ts";
import { asList, identityStatements, resources } from "./template-helpers.ts";

const sageMakerRoleArn = "arn:aws:iam::111122223333:role/team-neo-role";

/** The other branches: a configured SageMaker role, no redeploy schedule, only the component strategy. */
const config: EdgeMlopsConfig = loadConfig({
  ...stackTestConfig,
  sageMakerRoleArn,
  redeploySchedule: undefined,
  groups: stackTestConfig.groups.filter((g) => g.packagingStrategy === "component"),
});

// IAM and wiring only, so no bundling: placeholder code keeps this synth cheap.
let synth: SynthesizedApp;
let pipeline: Template;
beforeAll(async () => {
  synth = await synthApp(config, { bundle: false });
  pipeline = synth.template("DeploymentPipeline");
}, 120_000);
afterAll(() => synth?.dispose());

describe("with sageMakerRoleArn configured and no redeploy schedule", () => {
  it("creates no SageMaker role and passes exactly the configured one, only to SageMaker", () => {
    const roles = Object.keys(resources(pipeline, "AWS::IAM::Role"));
    expect(roles.some((id) => id.startsWith("SageMakerExecutionRole"))).toBe(false);
    const passes = identityStatements(pipeline).filter((s) =>
      asList(s.statement.Action).includes("iam:PassRole"),
    );
    expect(passes).toHaveLength(1); // start-compilation only: no edge packaging jobs configured
    expect(passes[0]?.statement).toMatchObject({
      Resource: sageMakerRoleArn,
      Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
    });
  });

  it("hands the configured role to the functions", () => {
    const fns = Object.values(resources(pipeline, "AWS::Lambda::Function")).filter(
      (fn) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
          ?.SAGEMAKER_ROLE_ARN,
    );
    expect(fns.length).toBeGreaterThan(0);
    for (const fn of fns) {
      expect(
        (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.SAGEMAKER_ROLE_ARN,
      ).toBe(sageMakerRoleArn);
    }
  });

  it("creates no redeploy schedule, its role or its DLQ", () => {
    expect(resources(pipeline, "AWS::Scheduler::Schedule")).toEqual({});
    expect(
      Object.keys(resources(pipeline, "AWS::SQS::Queue")).filter((id) => id.startsWith("RedeploySchedule")),
    ).toEqual([]);
  });

  it("grants no edge packaging actions when no group uses that strategy", () => {
    const actions = identityStatements(pipeline).flatMap((s) => asList(s.statement.Action));
    expect(actions.filter((a) => a.includes("EdgePackagingJob"))).toEqual([]);
  });

  it.each(["Storage", "DeploymentPipeline", "Monitoring"] as const)(
    "%s still has no unsuppressed cdk-nag findings",
    (stack) => {
      expect(synth.findings(stack)).toEqual([]);
    },
  );
});
