import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { forStepFunctions } from "./errors.ts";

export const logger = new Logger({ serviceName: "edge-mlops" });

/**
 * Wraps a plain async function as a Lambda handler: Powertools logging with the Lambda context,
 * and errors mapped for Step Functions (throttling → TransientError, others unchanged) so the
 * state machine's Retry and Catch see meaningful names.
 * @example export const handler = lambdaHandler("check-compilation", (input) => checkCompilation(input));
 */
export function lambdaHandler<TEvent, TResult>(
  name: string,
  fn: (event: TEvent, context: Context) => Promise<TResult>,
) {
  return middy(async (event: TEvent, context: Context): Promise<TResult> => {
    try {
      return await fn(event, context);
    } catch (error) {
      const mapped = forStepFunctions(error);
      logger.error(`${name} failed`, { error: mapped as Error });
      throw mapped;
    }
  }).use(injectLambdaContext(logger));
}
