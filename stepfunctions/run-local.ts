import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import {
  defaultValueSubstitutions,
  edgeDeploymentAslPath,
  type TaskFunctionKey,
  taskFunctionKeys,
  type ValueSubstitutionKey,
  waitStates,
} from "./edge-deployment.ts";
import { readDefinitionText, substitute } from "./substitute.ts";

/** One entry of the execution history, as aws-local-stepfunctions reports it. */
export type ExecutionEvent = {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  index?: number;
  Error?: string;
  Cause?: unknown;
  [other: string]: unknown;
};

export interface RunEdgeDeploymentOptions {
  input: unknown;
  /** `$$.Execution.Name`; start-deployment's names look like `<group>-v<version>`. */
  executionName?: string;
  /** Invokes the handler that serves one Task (e.g. import taskFunctions[key] and call its handler). */
  invokeTask: (key: TaskFunctionKey, payload: unknown, stateName: string) => Promise<unknown>;
  /** Poll intervals; defaults to the AWS ones. */
  substitutions?: Partial<Record<ValueSubstitutionKey, string>>;
  /** Multiplies every Wait and Retry interval: 0 = no waiting (tests), 0.01 = 100× faster (demo). Default 1. */
  waitScale?: number;
  /** Each history event as it happens (the local endpoint's GetExecutionHistory reads these). */
  onEvent?: (event: ExecutionEvent) => void;
  definitionPath?: string;
}

export interface EdgeDeploymentResult {
  status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";
  output?: unknown;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
}

type JsonValue = Parameters<StateMachine["run"]>[0];

const FUNCTION_ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:edge-mlops-";

type AnyState = {
  Type: string;
  Resource?: string;
  Retry?: { IntervalSeconds?: number }[];
  ItemProcessor?: { States: Record<string, AnyState> };
  Iterator?: { States: Record<string, AnyState> };
};

function* allStates(states: Record<string, AnyState>): Generator<[string, AnyState]> {
  for (const [name, state] of Object.entries(states)) {
    yield [name, state];
    const nested = state.ItemProcessor ?? state.Iterator;
    if (nested) yield* allStates(nested.States);
  }
}

/**
 * Loads the real definition, fills its `${Key}`s (functions get placeholder ARNs, bound by Resource),
 * and builds the aws-local-stepfunctions machine plus the overrides that send every Task to
 * `invokeTask` and scale Wait/Retry time.
 */
export function prepareEdgeDeployment(options: Omit<RunEdgeDeploymentOptions, "input" | "onEvent">) {
  const values: Record<string, string> = { ...defaultValueSubstitutions, ...options.substitutions };
  for (const key of taskFunctionKeys) values[key] = `${FUNCTION_ARN_PREFIX}${key}`;
  const definition = JSON.parse(
    substitute(readDefinitionText(options.definitionPath ?? edgeDeploymentAslPath), values),
  ) as StateMachineDefinition & { States: Record<string, AnyState> };
  const scale = options.waitScale ?? 1;
  const taskResourceLocalHandlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number[]> = {};
  for (const [name, state] of allStates(definition.States)) {
    if (state.Type === "Task" && state.Resource?.startsWith(FUNCTION_ARN_PREFIX)) {
      const key = state.Resource.slice(FUNCTION_ARN_PREFIX.length) as TaskFunctionKey;
      taskResourceLocalHandlers[name] = (payload) =>
        options.invokeTask(key, payload, name) as Promise<JsonValue>;
      if (scale !== 1)
        retryIntervalOverrides[name] = (state.Retry ?? []).map((r) =>
          Math.round((r.IntervalSeconds ?? 1) * 1000 * scale),
        );
    }
    const waitKey = waitStates[name];
    if (state.Type === "Wait" && waitKey && scale !== 1)
      waitTimeOverrides[name] = Math.round(Number(values[waitKey]) * 1000 * scale);
  }
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  return {
    machine,
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    definition,
  };
}

/**
 * Starts one execution of the real edge-deployment state machine in-process and returns at once:
 * `abort()` stops it, `events` fills as it runs, `done` settles with the outcome (never rejects).
 * @example
 * const run = startEdgeDeployment({ input: { modelPackageGroupName: "g" }, invokeTask, waitScale: 0 });
 * const result = await run.done; // result.status, result.events
 */
export function startEdgeDeployment(options: RunEdgeDeploymentOptions) {
  const { machine, overrides } = prepareEdgeDeployment(options);
  const executionName = options.executionName ?? `local-${Date.now()}`;
  const execution = machine.run(options.input as JsonValue, {
    overrides,
    noThrowOnAbort: true,
    context: {
      Execution: {
        Name: executionName,
        Id: `arn:aws:states:us-east-1:000000000000:execution:edge-deployment:${executionName}`,
      },
      // The engine leaves $$.State out; the wall clock stands in for it (waits here are scaled, not simulated).
      State: {
        get EnteredTime() {
          return new Date().toISOString();
        },
      },
    },
  });
  const events: ExecutionEvent[] = [];
  const collected = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event as unknown as ExecutionEvent);
      options.onEvent?.(event as unknown as ExecutionEvent);
    }
  })();
  const done: Promise<EdgeDeploymentResult> = execution.result.then(
    async (output) => {
      await collected;
      if (output === null && events.some((e) => e.type === "ExecutionAborted"))
        return { status: "ABORTED", events };
      return { status: "SUCCEEDED", output, events };
    },
    async (error: Error) => {
      await collected;
      if (error.name === "ExecutionTimeoutError") return { status: "TIMED_OUT", events };
      const failed = events.find((e) => e.type === "ExecutionFailed");
      const cause = failed?.Cause ?? (error.cause as Error | undefined)?.message ?? error.message;
      return {
        status: "FAILED",
        error: failed?.Error ?? (error.cause as Error | undefined)?.name ?? error.name,
        cause: typeof cause === "string" ? cause : JSON.stringify(cause),
        events,
      };
    },
  );
  return { executionName, abort: execution.abort, events, done };
}

/** Runs one execution to its end. */
export function runEdgeDeployment(options: RunEdgeDeploymentOptions): Promise<EdgeDeploymentResult> {
  return startEdgeDeployment(options).done;
}

/** Names of the states entered, in order (Map iterations included), for assertions and progress output. */
export function statesEntered(events: ExecutionEvent[]): string[] {
  return events.filter((e) => e.type === "StateEntered" && e.state).map((e) => e.state?.name as string);
}
