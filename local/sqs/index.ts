import type { SQSEvent } from "aws-lambda";
import type { LocalContext, ServiceFactory } from "../server/types.ts";
import { flowFunctionNames, flowFunctions, flowSettings, localResources } from "../wiring.ts";
import { LocalQueue } from "./queue.ts";
import { sqsService } from "./service.ts";

export { LocalQueue } from "./queue.ts";

const queues = new Map<string, LocalQueue>();

/** The capture queue of a started endpoint (tests and the fault admin route set its duplicate rate). */
export function captureQueueOf(endpointUrl: string): LocalQueue {
  const queue = queues.get(endpointUrl);
  if (!queue) throw new Error(`no capture queue runs at ${endpointUrl} in this process`);
  return queue;
}

/**
 * Capture delivery as the Monitoring stack wires it: capture bucket ObjectCreated under the
 * capture prefix → queue (at-least-once, DLQ after maxReceiveCount) → analyze-capture in batches
 * with partial batch failures. Also serves the SQS JSON protocol for both queues (inspect, send, drain the DLQ).
 */
export const createService: ServiceFactory = async (ctx: LocalContext) => {
  if (!ctx.objects) throw new Error("the capture queue needs the endpoint's S3 object store");
  const settings = flowSettings();
  const analyze = flowFunctions(ctx).get(flowFunctionNames.analyzeCapture);
  if (!analyze) throw new Error("analyze-capture is not registered");
  const dlq = new LocalQueue({
    name: `${localResources.captureQueueName}-dlq`,
    clock: ctx.clock,
    region: ctx.region,
    accountId: ctx.accountId,
  });
  const queue = new LocalQueue({
    name: localResources.captureQueueName,
    deadLetterQueue: dlq,
    clock: ctx.clock,
    region: ctx.region,
    accountId: ctx.accountId,
    consumer: (event: SQSEvent) => analyze.invoke(event),
    ...settings.capture,
  });
  const prefix = `${settings.config.capturePrefix.replace(/\/+$/, "")}/`;
  for (const bucket of [
    localResources.captureBucket,
    localResources.resultsBucket,
    localResources.artifactBucket,
  ])
    await ctx.objects.createBucket(bucket);
  // S3 puts one record per message body, as its SQS destination does.
  const unsubscribe = ctx.objects.onObjectCreated(localResources.captureBucket, prefix, (record) => {
    queue.send(JSON.stringify({ Records: [record] }));
  });
  ctx.addAdminRoute?.("POST", "capture-faults", async (body) => {
    const rate = (body as { duplicateRate?: unknown } | undefined)?.duplicateRate;
    if (typeof rate !== "number") throw new Error("duplicateRate must be a number in [0, 1]");
    queue.setDuplicateRate(rate);
    return { duplicateRate: rate };
  });
  if (ctx.endpointUrl) queues.set(ctx.endpointUrl, queue);
  return {
    ...sqsService([queue, dlq], ctx.endpointUrl ?? "http://127.0.0.1", ctx.accountId),
    async close() {
      queue.close();
      unsubscribe();
      if (ctx.endpointUrl) queues.delete(ctx.endpointUrl);
    },
  };
};
