import { deploymentConfig } from "../shared/config.ts";
import { requireEnv } from "../shared/env.ts";
import { lambdaHandler } from "../shared/handler.ts";
import { startDeployments } from "./starter.ts";

/** Env: EDGE_MLOPS_CONFIG, STATE_MACHINE_ARN. Target of the approval rule and the redeploy schedule. */
export const handler = lambdaHandler("start-deployment", (event: Parameters<typeof startDeployments>[0]) =>
  startDeployments(event, { config: deploymentConfig(), stateMachineArn: requireEnv("STATE_MACHINE_ARN") }),
);
