import { defaultValueSubstitutions, taskFunctionKeys } from "../../stepfunctions/edge-deployment.ts";
import { readDefinitionText, substitute } from "../../stepfunctions/substitute.ts";
import type { LocalContext, ServiceFactory } from "../server/types.ts";
import { flowFunctions, localResources, taskFunctionName } from "../wiring.ts";
import { StepFunctionsEngine } from "./engine.ts";
import { stepFunctionsService } from "./service.ts";

export { StepFunctionsEngine } from "./engine.ts";

const engines = new Map<string, StepFunctionsEngine>();

/** The Step Functions engine of a started endpoint (tests wait on executions with it). */
export function stepFunctionsEngineOf(endpointUrl: string): StepFunctionsEngine {
  const engine = engines.get(endpointUrl);
  if (!engine) throw new Error(`no Step Functions service runs at ${endpointUrl} in this process`);
  return engine;
}

/** The edge-deployment ASL from git with the stack's substitutions, Task ARNs naming the in-process functions. */
export function edgeDeploymentDefinition(ctx: Pick<LocalContext, "region" | "accountId">): string {
  const arns = Object.fromEntries(
    taskFunctionKeys.map((key) => [
      key,
      `arn:aws:lambda:${ctx.region}:${ctx.accountId}:function:${taskFunctionName(key)}`,
    ]),
  );
  // The same poll seconds as on AWS: the endpoint's clock makes them short, not the definition.
  return substitute(readDefinitionText(), { ...arns, ...defaultValueSubstitutions });
}

/** Step Functions (awsJson1_0) with the edge-deployment state machine pre-registered. */
export const createService: ServiceFactory = (ctx) => {
  const engine = new StepFunctionsEngine({
    clock: ctx.clock,
    region: ctx.region,
    accountId: ctx.accountId,
    stateDir: ctx.stateDir,
    functions: flowFunctions(ctx),
  });
  engine.putStateMachine(
    localResources.stateMachineName,
    edgeDeploymentDefinition(ctx),
    `arn:aws:iam::${ctx.accountId}:role/edge-mlops-EdgeDeploymentRole`,
  );
  if (ctx.endpointUrl) engines.set(ctx.endpointUrl, engine);
  const handler = stepFunctionsService(engine);
  return {
    ...handler,
    async close() {
      await handler.close?.();
      if (ctx.endpointUrl) engines.delete(ctx.endpointUrl);
    },
  };
};
