import { Stack } from "aws-cdk-lib";
import { type IRole, PolicyStatement, type PolicyStatementProps } from "aws-cdk-lib/aws-iam";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { NagSuppressions } from "cdk-nag";
import type { IConstruct } from "constructs";

/** A policy statement, and why it names a wildcard resource when it does. */
export interface Grant {
  statement: PolicyStatement;
  wildcardReason?: string;
}

export class UnexplainedWildcardError extends Error {
  constructor(readonly actions: string[]) {
    super(`a statement for ${actions.join(", ")} names a wildcard resource without saying why`);
    this.name = "UnexplainedWildcardError";
  }
}

/** @example allow(["s3:GetObject"], [bucket.arnForObjects("in/*")], { wildcardReason: "any file under in/" }) */
export function allow(
  actions: string[],
  resources: string[],
  options: { conditions?: PolicyStatementProps["conditions"]; wildcardReason?: string } = {},
): Grant {
  const statement = new PolicyStatement({
    actions,
    resources,
    ...(options.conditions ? { conditions: options.conditions } : {}),
  });
  return { statement, ...(options.wildcardReason ? { wildcardReason: options.wildcardReason } : {}) };
}

/**
 * Adds the grants to the role; each wildcard resource gets an AwsSolutions-IAM5 suppression for
 * exactly that resource, with the grant's reason. A wildcard without a reason is a synth error.
 */
export function addGrants(role: IRole & IConstruct, grants: Grant[]): void {
  for (const { statement, wildcardReason } of grants) {
    role.addToPrincipalPolicy(statement);
    const findings = statement.resources
      .map((r) => `Resource::${flatten(Stack.of(role).resolve(r))}`)
      .filter((finding) => finding.includes("*"));
    if (findings.length === 0) continue;
    if (!wildcardReason) throw new UnexplainedWildcardError(statement.actions);
    NagSuppressions.addResourceSuppressions(
      role,
      [{ id: "AwsSolutions-IAM5", reason: wildcardReason, appliesTo: findings }],
      true,
    );
  }
}

/** The flat form cdk-nag reports a resource in: `{"Fn::GetAtt":["B","Arn"]}` → `<B.Arn>`, `{"Ref":"X"}` → `<X>`. */
export function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v["Fn::Join"])) {
      const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
    if (Array.isArray(v["Fn::GetAtt"])) {
      const [resource, attribute] = v["Fn::GetAtt"] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (v.Ref !== undefined) return `<${flatten(v.Ref)}>`;
    if (v["Fn::ImportValue"] !== undefined) return flatten(v["Fn::ImportValue"]);
  }
  return JSON.stringify(value);
}

/** `Resource::<LogicalId.Arn>:*` — the form cdk-nag reports for a function's qualified-ARN wildcard. */
export function qualifiedArnFinding(fn: { node: { defaultChild?: IConstruct | undefined } }): string {
  const cfn = fn.node.defaultChild as CfnFunction;
  return `Resource::<${Stack.of(cfn).getLogicalId(cfn)}.Arn>:*`;
}

export const XRAY_REASON =
  "X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* do not support resource-level permissions (Resource must be *).";

export const RUNTIME_REASON =
  "The project pins nodejs22.x (the Lambda runtime it is built and tested for); cdk-nag counts a newer release as latest.";

/**
 * SST adds a `CustomResourceHandler` Lambda to every stack (used for its own metadata) with the
 * CDK defaults; the findings on it are SST's, scoped here to that one construct.
 */
export function suppressSstInternals(stack: Stack): void {
  const handler = stack.node.tryFindChild("CustomResourceHandler");
  if (!handler) return;
  NagSuppressions.addResourceSuppressions(
    handler,
    [
      {
        id: "AwsSolutions-IAM4",
        reason:
          "SST's own custom-resource handler uses the basic execution policy CDK gives it; not project code.",
        appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
      },
      { id: "AwsSolutions-L1", reason: "SST fixes the runtime of its own custom-resource handler." },
    ],
    true,
  );
}

export const DLQ_REASON =
  "This queue is itself a dead-letter queue (of an EventBridge or Scheduler target, which cdk-nag does not trace).";
