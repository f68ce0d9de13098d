import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import { Function as SstFunction } from "sst/constructs";
import { addGrants, allow, type Grant, RUNTIME_REASON, XRAY_REASON } from "./nag.ts";

export interface ProjectFunctionProps {
  /** Handler module relative to the repository root, e.g. "functions/deployment/notify.ts"; it exports `handler`. */
  entry: string;
  description: string;
  environment: Record<string, string>;
  timeout?: Duration;
  memorySize?: number;
  /** What the handler calls, beyond its own logs. */
  grants?: Grant[];
}

export interface ProjectFunction {
  fn: SstFunction;
  role: Role;
  logGroup: LogGroup;
}

/** "functions/x/y.ts" → "functions/x/y.handler", the form SST expects. */
export function handlerOf(entry: string): string {
  return `${entry.replace(/\.[cm]?tsx?$|\.[cm]?js$/, "")}.handler`;
}

/**
 * A Lambda with its own role and log group. The role starts empty apart from writing to that one
 * log group (no AWSLambdaBasicExecutionRole, which allows every log group in the account); callers
 * add exactly the actions the handler makes.
 */
export function projectFunction(scope: Construct, id: string, props: ProjectFunctionProps): ProjectFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    description: `edge-mlops ${id}: ${props.description}`.slice(0, 1000),
  });
  addGrants(role, [
    allow(["logs:CreateLogStream", "logs:PutLogEvents"], [logGroup.logGroupArn], {
      wildcardReason: "Streams of this function's own log group (one per execution environment).",
    }),
    ...(props.grants ?? []),
  ]);
  const fn = new SstFunction(scope, id, {
    handler: handlerOf(props.entry),
    description: props.description,
    role,
    logGroup,
    timeout: (props.timeout ?? Duration.seconds(30)).toSeconds(),
    memorySize: props.memorySize ?? 512,
    environment: {
      POWERTOOLS_SERVICE_NAME: "edge-mlops",
      POWERTOOLS_METRICS_NAMESPACE: "EdgeMlops",
      ...props.environment,
    },
  });
  // Active tracing makes CDK add the X-Ray statement to this role.
  NagSuppressions.addResourceSuppressions(
    role,
    [{ id: "AwsSolutions-IAM5", reason: XRAY_REASON, appliesTo: ["Resource::*"] }],
    true,
  );
  NagSuppressions.addResourceSuppressions(fn, [{ id: "AwsSolutions-L1", reason: RUNTIME_REASON }]);
  return { fn, role, logGroup };
}
