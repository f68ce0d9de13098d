import { lambdaHandler } from "../shared/handler.ts";
import { deployStage, type RolloutEvent } from "./rollout.ts";

export const handler = lambdaHandler("deploy-stage", (event: RolloutEvent) => deployStage(event));
