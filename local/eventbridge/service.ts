import { AwsError, type LocalRequest, type ServiceHandler } from "../server/types.ts";
import type { EventBus, PutEventsRequestEntry } from "./bus.ts";

function body(req: LocalRequest): Record<string, unknown> {
  try {
    const parsed = JSON.parse(req.body.toString("utf8") || "{}") as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AwsError("SerializationException", "request body must be a JSON object", 400);
}

/** EventBridge over awsJson1_1 (`AWSEvents.<Operation>`): PutEvents and the rules the endpoint routes with. */
export function eventBridgeService(bus: EventBus): ServiceHandler {
  const ruleArn = (bus_: string, name: string, region: string, account: string) =>
    `arn:aws:events:${region}:${account}:rule/${bus_ === "default" ? "" : `${bus_}/`}${name}`;
  const ops: Record<string, (b: Record<string, unknown>) => unknown> = {
    PutEvents: (b) => {
      const entries = b.Entries;
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
        throw new AwsError(
          "ValidationException",
          "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10",
          400,
        );
      }
      return bus.putEvents(entries as PutEventsRequestEntry[]);
    },
    ListRules: (b) => {
      const busName = typeof b.EventBusName === "string" ? b.EventBusName : "default";
      const prefix = typeof b.NamePrefix === "string" ? b.NamePrefix : "";
      return {
        Rules: bus
          .listRules(busName)
          .filter((r) => r.name.startsWith(prefix))
          .map((r) => ({
            Name: r.name,
            Arn: ruleArn(busName, r.name, bus.region, bus.accountId),
            EventPattern: JSON.stringify(r.eventPattern),
            State: "ENABLED",
            EventBusName: busName,
          })),
      };
    },
    DescribeRule: (b) => {
      const busName = typeof b.EventBusName === "string" ? b.EventBusName : "default";
      const rule = bus.listRules(busName).find((r) => r.name === b.Name);
      if (!rule)
        throw new AwsError(
          "ResourceNotFoundException",
          `Rule ${String(b.Name)} does not exist on EventBus ${busName}.`,
          400,
        );
      return {
        Name: rule.name,
        Arn: ruleArn(busName, rule.name, bus.region, bus.accountId),
        EventPattern: JSON.stringify(rule.eventPattern),
        State: "ENABLED",
        EventBusName: busName,
      };
    },
    ListTargetsByRule: (b) => {
      const busName = typeof b.EventBusName === "string" ? b.EventBusName : "default";
      const rule = bus.listRules(busName).find((r) => r.name === b.Rule);
      if (!rule)
        throw new AwsError(
          "ResourceNotFoundException",
          `Rule ${String(b.Rule)} does not exist on EventBus ${busName}.`,
          400,
        );
      return { Targets: rule.targets.map((t) => ({ Id: t.id, Arn: t.arn ?? t.id })) };
    },
  };
  return {
    services: ["events"],
    protocol: "awsJson1_1",
    async handle(req) {
      const op = req.target ? ops[req.target] : undefined;
      if (!op)
        throw new AwsError(
          "UnknownOperationException",
          `${req.target ?? "(no X-Amz-Target)"} is not an EventBridge operation the local endpoint serves`,
          400,
        );
      return {
        status: 200,
        headers: { "content-type": "application/x-amz-json-1.1" },
        body: (await op(body(req))) as object,
      };
    },
  };
}
