import { Duration, RemovalPolicy, Token } from "aws-cdk-lib";
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

/** Lambda refuses a function whose environment (names and values) exceeds 4 KB. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
// An unresolved reference (ARN, bucket name) becomes a string of at most this many bytes at deploy time.
const TOKEN_ESTIMATE_BYTES = 160;

export class EnvironmentTooLargeError extends Error {
  constructor(
    readonly functionId: string,
    readonly bytes: number,
  ) {
    super(
      `${functionId}: environment would be about ${bytes} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}; ` +
        "EDGE_MLOPS_CONFIG is most of it: split the model groups across stages or shorten the configuration",
    );
    this.name = "EnvironmentTooLargeError";
  }
}

/** Bytes the environment will take once deployed, counting each unresolved token at its worst case. */
export function environmentBytes(environment: Record<string, string>): number {
  return Object.entries(environment).reduce(
    (sum, [key, value]) =>
      sum +
      Buffer.byteLength(key) +
      (Token.isUnresolved(value) ? TOKEN_ESTIMATE_BYTES : Buffer.byteLength(value)),
    0,
  );
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
  const environment = {
    POWERTOOLS_SERVICE_NAME: "edge-mlops",
    POWERTOOLS_METRICS_NAMESPACE: "EdgeMlops",
    ...props.environment,
  };
  // Fail at synth with a reason rather than halfway through a CloudFormation deploy.
  const bytes = environmentBytes(environment);
  if (bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) throw new EnvironmentTooLargeError(id, bytes);
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
    environment,
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
