import {
  approvalEventPattern,
  deploymentOutcomePattern,
  driftScheduleInput,
  modelDriftPattern,
  redeployScheduleInput,
} from "../../events/patterns.ts";
import type { LocalFunction } from "../lambda/invoke.ts";
import type { LocalContext, ServiceFactory } from "../server/types.ts";
import { flowFunctionNames, flowFunctions, flowSettings, localResources } from "../wiring.ts";
import { EventBus, type RuleTarget } from "./bus.ts";
import { Scheduler } from "./scheduler.ts";
import { eventBridgeService } from "./service.ts";

export { EventBus } from "./bus.ts";
export { Scheduler } from "./scheduler.ts";

const routers = new Map<string, { bus: EventBus; scheduler: Scheduler }>();

/** The bus and scheduler of a started endpoint (tests wait for deliveries, the CLI ticks). */
export function eventRouterOf(endpointUrl: string): { bus: EventBus; scheduler: Scheduler } {
  const router = routers.get(endpointUrl);
  if (!router) throw new Error(`no EventBridge service runs at ${endpointUrl} in this process`);
  return router;
}

const lambdaTarget = (fn: LocalFunction): RuleTarget => ({
  id: fn.opts.functionName,
  arn: fn.arn,
  invoke: (event) => fn.invoke(event),
});

/**
 * EventBridge (awsJson1_1) and Scheduler: the stacks' rules from `events/` with their Lambda targets,
 * events emitted by the local services (SageMaker's state changes) routed the same way, and the
 * redeploy and drift schedules on the clock or on `POST /_edge-mlops/tick {"schedule"?: name}`.
 */
export const createService: ServiceFactory = (ctx: LocalContext) => {
  const settings = flowSettings();
  const functions = flowFunctions(ctx);
  const fn = (name: string) => {
    const found = functions.get(name);
    if (!found) throw new Error(`function ${name} is not registered`);
    return found;
  };
  const bus = new EventBus({
    clock: ctx.clock,
    region: ctx.region,
    accountId: ctx.accountId,
    stateDir: ctx.stateDir,
  });
  // Approval events come from SageMaker on the default bus, as on AWS.
  bus.addRule({
    name: "edge-mlops-approval",
    eventBusName: "default",
    eventPattern: approvalEventPattern(settings.config),
    targets: [lambdaTarget(fn(flowFunctionNames.startDeployment))],
  });
  // Outcomes and drift findings have no local subscriber; the rules exist so they can be listed and inspected.
  bus.addRule({
    name: "edge-mlops-deployment-outcome",
    eventBusName: localResources.eventBusName,
    eventPattern: deploymentOutcomePattern,
    targets: [],
  });
  bus.addRule({
    name: "edge-mlops-model-drift",
    eventBusName: localResources.eventBusName,
    eventPattern: modelDriftPattern,
    targets: [],
  });
  const unsubscribe = ctx.onEvent?.((event) => bus.emit(event));

  const scheduler = new Scheduler({ clock: ctx.clock, region: ctx.region, accountId: ctx.accountId });
  if (settings.config.redeploySchedule) {
    const start = fn(flowFunctionNames.startDeployment);
    scheduler.add({
      name: localResources.redeployScheduleName,
      expression: settings.config.redeploySchedule,
      input: redeployScheduleInput,
      target: (input) => start.invoke(input),
    });
  }
  const aggregate = fn(flowFunctionNames.aggregateDrift);
  scheduler.add({
    name: localResources.driftScheduleName,
    expression: settings.config.driftSchedule,
    input: driftScheduleInput(settings.config.driftWindowHours),
    target: (input) => aggregate.invoke(input),
  });
  // On an instant clock (time scale 0) "on the clock" means nothing: schedules run on tick only.
  if (settings.autoSchedules && (ctx.clock as { timeScale?: number }).timeScale !== 0) scheduler.start();
  ctx.addAdminRoute?.("POST", "tick", async (body) => {
    const name = (body as { schedule?: unknown } | undefined)?.schedule;
    if (name !== undefined && typeof name !== "string") throw new Error("schedule must be a schedule name");
    return { runs: await scheduler.tick(name) };
  });
  if (ctx.endpointUrl) routers.set(ctx.endpointUrl, { bus, scheduler });

  return {
    ...eventBridgeService(bus),
    async close() {
      scheduler.close();
      unsubscribe?.();
      await bus.idle();
      if (ctx.endpointUrl) routers.delete(ctx.endpointUrl);
    },
  };
};
