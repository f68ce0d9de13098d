import { requireEnv } from "../shared/env.ts";
import { lambdaHandler } from "../shared/handler.ts";
import { type NotifyEvent, notify } from "./notification.ts";

/** Env: EVENT_BUS_NAME. */
export const handler = lambdaHandler("notify", (event: NotifyEvent) =>
  notify(event, { eventBusName: requireEnv("EVENT_BUS_NAME") }),
);
