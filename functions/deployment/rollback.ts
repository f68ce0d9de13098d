import { lambdaHandler } from "../shared/handler.ts";
import type { DeploymentPlan, RolloutState } from "./plan.ts";
import { rollbackStages } from "./rollback-stages.ts";

export const handler = lambdaHandler("rollback", (event: { plan: DeploymentPlan; rollout: RolloutState }) =>
  rollbackStages(event),
);
