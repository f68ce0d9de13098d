import { readFileSync } from "node:fs";
import path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { type EventPattern as CdkEventPattern, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { NagSuppressions } from "cdk-nag";
import type { StackContext } from "sst/constructs";
import { use } from "sst/constructs";
import { useProject } from "sst/project.js";
import { approvalEventPattern, type EventPattern, redeployScheduleInput } from "../events/patterns.ts";
import {
  type DefinitionSubstitutions,
  edgeDeploymentAslFile,
  type TaskFunctionKey,
  taskFunctionKeys,
  taskFunctions,
} from "../stepfunctions/edge-deployment.ts";
import { useConfig } from "./context.ts";
import { type ProjectFunction, projectFunction } from "./lib/functions.ts";
import { addGrants, allow, DLQ_REASON, suppressSstInternals, XRAY_REASON } from "./lib/nag.ts";
import { pipelineGrants } from "./lib/pipeline-permissions.ts";
import { deadLetterQueue } from "./lib/queues.ts";
import { createSageMakerRole } from "./lib/sagemaker-role.ts";
import { scheduledInvoke } from "./lib/schedule.ts";
import { Storage } from "./Storage.ts";

/** Handler of the trigger Lambda (approval events, the redeploy schedule). */
export const startDeploymentEntry = "functions/deployment/start-deployment.ts";

/** Poll intervals substituted into the Wait states, in seconds. */
export const pollSeconds = {
  CompilationPollSeconds: 60,
  PackagingPollSeconds: 30,
  RolloutPollSeconds: 60,
} as const;

/** CDK spells `detail-type` as `detailType`; the pattern constants use the wire form. */
export function toCdkEventPattern(pattern: EventPattern): CdkEventPattern {
  const { "detail-type": detailType, ...rest } = pattern;
  return { ...rest, ...(detailType ? { detailType } : {}) };
}

/**
 * Resolve the ASL file from the project root
 * because `sst deploy` bundles this code into one file at the root, where `import.meta.url` differs.
 */
export function aslFile(): string {
  return path.join(useProject().paths.root, edgeDeploymentAslFile);
}

export function DeploymentPipeline({ stack }: StackContext) {
  const config = useConfig();
  const { artifactBucket, bus } = use(Storage);

  const sageMakerRoleArn =
    config.sageMakerRoleArn ?? createSageMakerRole(stack, artifactBucket, config).roleArn;

  const environment = {
    EDGE_MLOPS_CONFIG: JSON.stringify(config),
    ARTIFACT_BUCKET: artifactBucket.bucketName,
    EVENT_BUS_NAME: bus.eventBusName,
    SAGEMAKER_ROLE_ARN: sageMakerRoleArn,
  };

  const grants = pipelineGrants(stack, { config, artifactBucket, bus, sageMakerRoleArn });
  const tasks = Object.fromEntries(
    taskFunctionKeys.map((key) => {
      const id = key.replace(/FunctionArn$/, "");
      const packaging = key === "StartPackagingFunctionArn";
      const made = projectFunction(stack, id, {
        entry: taskFunctions[key],
        description: `edge-deployment state ${id}`,
        environment,
        // Packaging copies compiled models (hundreds of MB) into the component prefix.
        timeout: packaging ? Duration.minutes(5) : Duration.seconds(60),
        memorySize: packaging ? 1024 : 512,
        grants: grants[key],
      });
      return [key, made];
    }),
  ) as Record<TaskFunctionKey, ProjectFunction>;

  const executionLogs = new LogGroup(stack, "EdgeDeploymentLogs", {
    retention: RetentionDays.SIX_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const machineRole = new Role(stack, "EdgeDeploymentRole", {
    assumedBy: new ServicePrincipal("states.amazonaws.com"),
    description: "edge-mlops: the edge-deployment state machine",
  });
  const taskList = Object.values(tasks);
  addGrants(machineRole, [
    allow(
      ["lambda:InvokeFunction"],
      taskList.flatMap(({ fn }) => [fn.functionArn, `${fn.functionArn}:*`]),
      {
        wildcardReason: "Versions and aliases of the state machine's own task functions, and nothing else.",
      },
    ),
  ]);

  const substitutions: DefinitionSubstitutions = {
    ...(Object.fromEntries(taskFunctionKeys.map((key) => [key, tasks[key].fn.functionArn])) as Record<
      TaskFunctionKey,
      string
    >),
    CompilationPollSeconds: String(pollSeconds.CompilationPollSeconds),
    PackagingPollSeconds: String(pollSeconds.PackagingPollSeconds),
    RolloutPollSeconds: String(pollSeconds.RolloutPollSeconds),
  };
  const stateMachine = new StateMachine(stack, "EdgeDeployment", {
    stateMachineType: StateMachineType.STANDARD,
    // The file stays the one source of truth: read as is, placeholders filled by CloudFormation.
    definitionBody: DefinitionBody.fromString(readFileSync(aslFile(), "utf8")),
    definitionSubstitutions: substitutions,
    role: machineRole,
    tracingEnabled: true,
    // ALL levels so every state transition is logged; execution data off because task inputs and
    // outputs carry model metadata and S3 locations, which the execution history already keeps
    // under IAM rather than copying into a log group.
    logs: { destination: executionLogs, level: LogLevel.ALL, includeExecutionData: false },
  });

  const start = projectFunction(stack, "StartDeployment", {
    entry: startDeploymentEntry,
    description: "Starts edge-deployment for an approved package or the scheduled redeploy",
    environment: { ...environment, STATE_MACHINE_ARN: stateMachine.stateMachineArn },
    timeout: Duration.seconds(60),
    grants: [...grants.StartDeployment, allow(["states:StartExecution"], [stateMachine.stateMachineArn])],
  });

  // Approval events arrive on the default bus (SageMaker publishes there).
  const approvalDlq = deadLetterQueue(stack, "ApprovalDlq", "the model approval rule");
  const approvalRule = new Rule(stack, "ApprovalRule", {
    description: "SageMaker model package approved in a watched group → start-deployment",
    eventPattern: toCdkEventPattern(approvalEventPattern(config)),
    targets: [
      new LambdaFunction(start.fn, {
        deadLetterQueue: approvalDlq.queue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });

  const redeploy = config.redeploySchedule
    ? scheduledInvoke(stack, "RedeploySchedule", {
        fn: start.fn,
        expression: config.redeploySchedule,
        input: redeployScheduleInput,
        description: "Periodic redeploy of the latest Approved package of each watched group",
        maximumRetryAttempts: 4,
      })
    : undefined;

  suppressSstInternals(stack);
  // CloudWatch Logs delivery and X-Ray, added by CDK for `logs` and `tracingEnabled`.
  NagSuppressions.addResourceSuppressions(
    machineRole,
    [
      {
        id: "AwsSolutions-IAM5",
        reason: `Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and ${XRAY_REASON}`,
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(approvalDlq.queue, [
    { id: "AwsSolutions-SQS3", reason: DLQ_REASON },
  ]);

  stack.addOutputs({
    StateMachineArn: stateMachine.stateMachineArn,
    StartDeploymentFunction: start.fn.functionName,
    SageMakerRoleArn: sageMakerRoleArn,
    ApprovalRuleName: approvalRule.ruleName,
  });

  return { stateMachine, tasks, start, approvalRule, redeploy, sageMakerRoleArn };
}
