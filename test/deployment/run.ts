import { type TaskFunctionKey, taskFunctions } from "../../stepfunctions/edge-deployment.ts";
import { runEdgeDeployment } from "../../stepfunctions/run-local.ts";
import { lambdaContext } from "../fixtures/deployment/context.ts";

type Handler = (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
const handlers = new Map<TaskFunctionKey, Handler>();

/** Imports the handler module the taskFunctions table names, as the stack and the local endpoint do. */
async function handlerFor(key: TaskFunctionKey): Promise<Handler> {
  let handler = handlers.get(key);
  if (!handler) {
    const module = (await import(new URL(`../../${taskFunctions[key]}`, import.meta.url).href)) as {
      handler: Handler;
    };
    handler = module.handler;
    handlers.set(key, handler);
  }
  return handler;
}

export interface TaskCall {
  key: TaskFunctionKey;
  state: string;
  payload: unknown;
}

/** Runs the real ASL with the real handlers (SDK clients mocked by the caller), waits at zero. */
export async function run(input: unknown, executionName = "edge-mlops-example-classifier-v3") {
  const calls: TaskCall[] = [];
  const result = await runEdgeDeployment({
    input,
    executionName,
    waitScale: 0,
    invokeTask: async (key, payload, state) => {
      calls.push({ key, state, payload });
      return (await handlerFor(key))(payload, lambdaContext);
    },
  });
  return { ...result, calls };
}
