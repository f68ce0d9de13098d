import { Stack } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { CfnSchedule } from "aws-cdk-lib/aws-scheduler";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import { addGrants, allow, DLQ_REASON } from "./nag.ts";
import { type DeadLetterQueue, deadLetterQueue } from "./queues.ts";

export interface ScheduledInvokeProps {
  fn: IFunction;
  /** EventBridge Scheduler expression: cron(…), rate(…) or at(…). */
  expression: string;
  /** JSON the function receives; `<aws.scheduler.*>` context attributes are filled at each run. */
  input: string;
  description: string;
  maximumRetryAttempts: number;
}

export interface ScheduledInvoke {
  schedule: CfnSchedule;
  role: Role;
  dlq: DeadLetterQueue;
}

/**
 * An EventBridge Scheduler schedule (UTC, no flexible window) invoking one function through its own
 * role, which may invoke that function and write to the schedule's dead-letter queue, nothing else.
 */
export function scheduledInvoke(scope: Construct, id: string, props: ScheduledInvokeProps): ScheduledInvoke {
  const dlq = deadLetterQueue(scope, `${id}Dlq`, `the ${id} schedule`);
  NagSuppressions.addResourceSuppressions(dlq.queue, [{ id: "AwsSolutions-SQS3", reason: DLQ_REASON }]);
  const role = new Role(scope, `${id}SchedulerRole`, {
    // Only schedules of this account may assume it (confused-deputy guard).
    assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
    description: `edge-mlops: EventBridge Scheduler, ${props.description}`.slice(0, 1000),
  });
  addGrants(role, [
    allow(["lambda:InvokeFunction"], [props.fn.functionArn]),
    allow(["sqs:SendMessage"], [dlq.queue.queueArn]),
  ]);
  const schedule = new CfnSchedule(scope, id, {
    description: props.description,
    scheduleExpression: props.expression,
    scheduleExpressionTimezone: "UTC",
    flexibleTimeWindow: { mode: "OFF" },
    state: "ENABLED",
    target: {
      arn: props.fn.functionArn,
      roleArn: role.roleArn,
      input: props.input,
      deadLetterConfig: { arn: dlq.queue.queueArn },
      retryPolicy: { maximumRetryAttempts: props.maximumRetryAttempts, maximumEventAgeInSeconds: 3600 },
    },
  });
  return { schedule, role, dlq };
}
