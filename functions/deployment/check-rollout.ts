import { lambdaHandler } from "../shared/handler.ts";
import { checkRollout, type RolloutEvent } from "./rollout.ts";

export const handler = lambdaHandler("check-rollout", (event: RolloutEvent) => checkRollout(event));
