import { createHash } from "node:crypto";
import { AwsError, type LocalRequest, type ServiceHandler } from "../server/types.ts";
import type { LocalQueue } from "./queue.ts";

/**
 * The SQS JSON protocol (awsJson1_0, `AmazonSQS.<Operation>`) over the endpoint's queues, so the
 * AWS CLI and SDK can look into the capture queue and its DLQ, send to it, and drain the DLQ.
 */
export function sqsService(queues: LocalQueue[], endpointUrl: string, accountId: string): ServiceHandler {
  const urlOf = (q: LocalQueue) => `${endpointUrl}/${accountId}/${q.name}`;
  const byUrl = (url: unknown): LocalQueue => {
    const name = typeof url === "string" ? url.split("/").pop() : undefined;
    const q = queues.find((x) => x.name === name);
    if (!q) throw new AwsError("QueueDoesNotExist", "The specified queue does not exist.", 400);
    return q;
  };
  const int = (v: unknown, dflt: number, min: number, max: number, name: string) => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw new AwsError(
        "InvalidParameterValue",
        `${name} must be an integer between ${min} and ${max}`,
        400,
      );
    return v;
  };
  const md5 = (s: string) => createHash("md5").update(s).digest("hex");

  const ops: Record<string, (b: Record<string, unknown>) => unknown> = {
    ListQueues: (b) => ({
      QueueUrls: queues
        .filter((q) => q.name.startsWith(typeof b.QueueNamePrefix === "string" ? b.QueueNamePrefix : ""))
        .map(urlOf),
    }),
    GetQueueUrl: (b) => {
      const q = queues.find((x) => x.name === b.QueueName);
      if (!q) throw new AwsError("QueueDoesNotExist", "The specified queue does not exist.", 400);
      return { QueueUrl: urlOf(q) };
    },
    GetQueueAttributes: (b) => {
      const q = byUrl(b.QueueUrl);
      const { visible, inFlight } = q.counts();
      const dlq = q.opts.deadLetterQueue;
      const all: Record<string, string> = {
        QueueArn: q.arn,
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(inFlight),
        ApproximateNumberOfMessagesDelayed: "0",
        VisibilityTimeout: String(q.visibilityTimeoutSeconds),
        CreatedTimestamp: String(Math.floor(q.createdAt.getTime() / 1000)),
        ...(dlq
          ? {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: dlq.arn,
                maxReceiveCount: q.opts.maxReceiveCount ?? 5,
              }),
            }
          : {}),
      };
      const names = Array.isArray(b.AttributeNames) ? (b.AttributeNames as string[]) : ["All"];
      return {
        Attributes: names.includes("All")
          ? all
          : Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k))),
      };
    },
    SendMessage: (b) => {
      const q = byUrl(b.QueueUrl);
      if (typeof b.MessageBody !== "string" || b.MessageBody === "")
        throw new AwsError("MissingParameter", "The request must contain the parameter MessageBody.", 400);
      if (Buffer.byteLength(b.MessageBody) > 262_144)
        throw new AwsError("InvalidParameterValue", "MessageBody is longer than 262144 bytes.", 400);
      return { MessageId: q.send(b.MessageBody), MD5OfMessageBody: md5(b.MessageBody) };
    },
    ReceiveMessage: (b) => {
      const q = byUrl(b.QueueUrl);
      const max = int(b.MaxNumberOfMessages, 1, 1, 10, "MaxNumberOfMessages");
      const visibility = int(b.VisibilityTimeout, q.visibilityTimeoutSeconds, 0, 43_200, "VisibilityTimeout");
      return {
        Messages: q.receive(max, visibility).map((m) => ({
          MessageId: m.messageId,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: md5(m.body),
          Body: m.body,
          Attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentTimestamp),
          },
        })),
      };
    },
    DeleteMessage: (b) => {
      const q = byUrl(b.QueueUrl);
      if (typeof b.ReceiptHandle !== "string" || !q.deleteMessage(b.ReceiptHandle)) {
        throw new AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.", 400);
      }
      return {};
    },
    ChangeMessageVisibility: (b) => {
      const q = byUrl(b.QueueUrl);
      const seconds = int(b.VisibilityTimeout, 0, 0, 43_200, "VisibilityTimeout");
      if (typeof b.ReceiptHandle !== "string" || !q.changeVisibility(b.ReceiptHandle, seconds)) {
        throw new AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.", 400);
      }
      return {};
    },
    PurgeQueue: (b) => {
      byUrl(b.QueueUrl).purge();
      return {};
    },
  };

  return {
    services: ["sqs"],
    protocol: "awsJson1_0",
    async handle(req: LocalRequest) {
      const op = req.target ? ops[req.target] : undefined;
      if (!op)
        throw new AwsError(
          "UnsupportedOperation",
          `${req.target ?? "(no X-Amz-Target)"} is not an SQS operation the local endpoint serves`,
          400,
        );
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(req.body.toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        throw new AwsError("SerializationException", "request body must be JSON", 400);
      }
      return {
        status: 200,
        headers: { "content-type": "application/x-amz-json-1.0" },
        body: op(body) as object,
      };
    },
  };
}
