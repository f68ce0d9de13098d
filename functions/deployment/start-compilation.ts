import { requireEnv } from "../shared/env.ts";
import { lambdaHandler } from "../shared/handler.ts";
import { startCompilation } from "./compilation.ts";
import type { CompilationState } from "./plan.ts";

/** Env: SAGEMAKER_ROLE_ARN (passed to Neo). */
export const handler = lambdaHandler("start-compilation", (event: CompilationState) =>
  startCompilation(event, { roleArn: requireEnv("SAGEMAKER_ROLE_ARN") }),
);
