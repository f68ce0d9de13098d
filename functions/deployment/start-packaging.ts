import { requireEnv } from "../shared/env.ts";
import { lambdaHandler } from "../shared/handler.ts";
import { type PackagingEvent, startPackaging } from "./packaging.ts";

/** Env: ARTIFACT_BUCKET, SAGEMAKER_ROLE_ARN (edge packaging jobs only). */
export const handler = lambdaHandler("start-packaging", (event: PackagingEvent) =>
  startPackaging(event, {
    artifactBucket: requireEnv("ARTIFACT_BUCKET"),
    roleArn: process.env.SAGEMAKER_ROLE_ARN ?? "",
  }),
);
