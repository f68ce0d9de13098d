import { deploymentConfig } from "../shared/config.ts";
import { requireEnv } from "../shared/env.ts";
import { lambdaHandler } from "../shared/handler.ts";
import { type ResolveEvent, resolveModelPackage } from "./resolve.ts";

/** Env: EDGE_MLOPS_CONFIG, ARTIFACT_BUCKET. */
export const handler = lambdaHandler("resolve-model-package", (event: ResolveEvent) =>
  resolveModelPackage(event, { config: deploymentConfig(), artifactBucket: requireEnv("ARTIFACT_BUCKET") }),
);
