import { Duration } from "aws-cdk-lib";
import { type Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { Queue, QueueEncryption, type QueueProps } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/** An SQS queue with SSE-SQS and a policy that refuses non-TLS requests. */
export function secureQueue(
  scope: Construct,
  id: string,
  props: Omit<QueueProps, "encryption" | "enforceSSL"> = {},
): Queue {
  // SSE-SQS rather than a customer key: S3 notifications and EventBridge can write to it with no key policy.
  return new Queue(scope, id, { ...props, encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
}

export interface DeadLetterQueue {
  queue: Queue;
  alarm: Alarm;
}

/**
 * A dead-letter queue kept 14 days (the SQS maximum) with an alarm as soon as one message lands:
 * anything here is an event the system failed to act on.
 */
export function deadLetterQueue(scope: Construct, id: string, what: string): DeadLetterQueue {
  const queue = secureQueue(scope, id, { retentionPeriod: Duration.days(14) });
  const alarm = queue
    .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: "Maximum" })
    .createAlarm(scope, `${id}DepthAlarm`, {
      alarmDescription: `Messages in the dead-letter queue of ${what}: inspect, fix the cause, then redrive.`,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  return { queue, alarm };
}
