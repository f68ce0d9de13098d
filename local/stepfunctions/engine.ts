/**
 * Step Functions executions on the local engine (aws-local-stepfunctions): state machines by ARN,
 * executions with AWS's name rules and statuses, AWS-shaped history, Tasks bound in-process to
 * Lambda handler modules, Wait states and retry intervals on the endpoint's clock. Finished
 * executions persist in the state dir; one still running when the endpoint stopped comes back
 * ABORTED, since its progress cannot be resumed.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ExecutionAbortedError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";
import { type FunctionRegistry, LambdaInvocationError } from "../lambda/invoke.ts";
import { JsonState } from "../server/state.ts";
import { AwsError, type Clock } from "../server/types.ts";
import {
  type AslDefinition,
  DefinitionError,
  type PreparedDefinition,
  parseDefinition,
  prepareDefinition,
  waitSeconds,
} from "./definition.ts";
import { HISTORY_EVENT_LIMIT, type HistoryEvent, HistoryRecorder } from "./history.ts";

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface StateMachineRecord {
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: "STANDARD" | "EXPRESS";
  creationDate: string;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: string;
  stopDate?: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}

export interface EngineOptions {
  clock: Clock;
  region: string;
  accountId: string;
  stateDir: string;
  functions: FunctionRegistry;
}

/** A Task's Lambda error as the engine matches it: `name` is the Lambda errorType, `message` the Cause JSON. */
class TaskError extends Error {
  constructor(errorType: string, cause: string) {
    super(cause);
    this.name = errorType;
  }
}

const sfnError = (code: string, message: string) => new AwsError(code, message, 400);
// AWS refuses whitespace, brackets, wildcards, these punctuation marks and control characters in names.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const hasControlCharacter = (s: string) =>
  [...s].some(
    (c) =>
      (c.codePointAt(0) ?? 0) < 0x20 || ((c.codePointAt(0) ?? 0) >= 0x7f && (c.codePointAt(0) ?? 0) <= 0x9f),
  );

function checkName(name: string, what: string): void {
  if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name) || hasControlCharacter(name))
    throw sfnError("InvalidName", `Invalid ${what} name: '${name}'`);
}

function checkJson(text: string): void {
  try {
    JSON.parse(text);
  } catch {
    throw sfnError("InvalidExecutionInput", "Invalid State Machine Execution Input: input is not valid JSON");
  }
}

interface Running {
  abort(): void;
  done: Promise<void>;
}

export class StepFunctionsEngine {
  private readonly machines: JsonState<{ stateMachines: StateMachineRecord[] }>;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, Running>();
  private readonly prepared = new Map<string, PreparedDefinition>();
  private readonly executionDir: string;

  constructor(private readonly opts: EngineOptions) {
    this.machines = new JsonState(join(opts.stateDir, "state-machines.json"), {
      stateMachines: [] as StateMachineRecord[],
    });
    this.executionDir = join(opts.stateDir, "executions");
    mkdirSync(this.executionDir, { recursive: true });
    for (const file of readdirSync(this.executionDir).filter((f) => f.endsWith(".json"))) {
      const record = JsonState.load<ExecutionRecord | undefined>(join(this.executionDir, file), undefined);
      if (!record) continue;
      if (record.status === "RUNNING") {
        Object.assign(record, {
          status: "ABORTED",
          stopDate: new Date().toISOString(),
          error: "States.Runtime",
          cause: "the local endpoint stopped while this execution ran",
        });
        this.persist(record);
      }
      this.executions.set(record.executionArn, record);
    }
  }

  private now(): string {
    return this.opts.clock.now().toISOString();
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.opts.region}:${this.opts.accountId}:stateMachine:${name}`;
  }

  // ---- state machines -----------------------------------------------------------------------

  createStateMachine(input: {
    name?: string;
    definition?: string;
    roleArn?: string;
    type?: string;
  }): StateMachineRecord {
    if (!input.name) throw sfnError("ValidationException", "name is required");
    checkName(input.name, "state machine");
    if (!input.definition) throw sfnError("ValidationException", "definition is required");
    const type = (input.type ?? "STANDARD") as StateMachineRecord["type"];
    if (type !== "STANDARD" && type !== "EXPRESS")
      throw sfnError("ValidationException", `type must be STANDARD or EXPRESS, not ${type}`);
    try {
      this.prepare(parseDefinition(input.definition));
      new StateMachine(parseDefinition(input.definition) as unknown as StateMachineDefinition, {
        validationOptions: { checkArn: false },
      });
    } catch (err) {
      throw sfnError("InvalidDefinition", `Invalid State Machine Definition: ${(err as Error).message}`);
    }
    const arn = this.stateMachineArn(input.name);
    const existing = this.machines.data.stateMachines.find((m) => m.stateMachineArn === arn);
    if (existing) {
      // Same name and definition is an idempotent retry, as on AWS.
      if (existing.definition === input.definition && existing.type === type) return existing;
      throw sfnError("StateMachineAlreadyExists", `State Machine Already Exists: '${arn}'`);
    }
    const record: StateMachineRecord = {
      stateMachineArn: arn,
      name: input.name,
      definition: input.definition,
      roleArn: input.roleArn ?? `arn:aws:iam::${this.opts.accountId}:role/edge-mlops-local-states`,
      type,
      creationDate: this.now(),
    };
    this.machines.data.stateMachines.push(record);
    this.machines.save();
    return record;
  }

  /** Registers (or replaces) a state machine the endpoint provides, e.g. edge-deployment with its real ASL. */
  putStateMachine(name: string, definition: string, roleArn?: string): StateMachineRecord {
    const arn = this.stateMachineArn(name);
    const list = this.machines.data.stateMachines;
    const existing = list.find((m) => m.stateMachineArn === arn);
    if (existing) {
      existing.definition = definition;
      this.prepared.delete(arn);
      this.machines.save();
      return existing;
    }
    return this.createStateMachine({ name, definition, ...(roleArn ? { roleArn } : {}) });
  }

  describeStateMachine(arn: string): StateMachineRecord {
    const found = this.machines.data.stateMachines.find((m) => m.stateMachineArn === arn);
    if (!found) throw sfnError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${arn}'`);
    return found;
  }

  listStateMachines(): StateMachineRecord[] {
    return [...this.machines.data.stateMachines].sort((a, b) => a.name.localeCompare(b.name));
  }

  private prepare(def: AslDefinition): PreparedDefinition {
    const prepared = prepareDefinition(def);
    for (const [state, resource] of prepared.tasks) {
      if (!this.isLambdaResource(resource))
        throw new DefinitionError(`Task ${state}: the local engine runs Lambda tasks only, not ${resource}`);
    }
    return prepared;
  }

  private isLambdaResource(resource: string): boolean {
    return resource === "arn:aws:states:::lambda:invoke" || /^arn:aws[a-z-]*:lambda:/.test(resource);
  }

  // ---- executions ---------------------------------------------------------------------------

  /**
   * Starts an execution. Same name + same input as a RUNNING execution returns that execution
   * (StartExecution is idempotent for STANDARD workflows); otherwise a used name is ExecutionAlreadyExists.
   */
  startExecution(input: { stateMachineArn?: string; name?: string; input?: string }): ExecutionRecord {
    if (!input.stateMachineArn) throw sfnError("ValidationException", "stateMachineArn is required");
    const machine = this.describeStateMachine(input.stateMachineArn);
    const name = input.name ?? randomUUID();
    checkName(name, "execution");
    const text = input.input ?? "{}";
    checkJson(text);
    const executionArn = `arn:aws:states:${this.opts.region}:${this.opts.accountId}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === "RUNNING" && existing.input === text) return existing;
      throw sfnError("ExecutionAlreadyExists", `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.stateMachineArn,
      name,
      status: "RUNNING",
      startDate: this.now(),
      input: text,
      events: [],
    };
    this.executions.set(executionArn, record);
    this.persist(record);
    this.run(machine, record);
    return record;
  }

  /** One file per execution, written whole (atomically) at start and at the end. */
  private persist(record: ExecutionRecord): void {
    const file = join(
      this.executionDir,
      `${encodeURIComponent(record.executionArn.split(":execution:")[1] ?? record.name)}.json`,
    );
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, file);
  }

  private run(machine: StateMachineRecord, record: ExecutionRecord): void {
    let prepared = this.prepared.get(machine.stateMachineArn);
    if (!prepared) {
      prepared = this.prepare(parseDefinition(machine.definition));
      this.prepared.set(machine.stateMachineArn, prepared);
    }
    let abort: () => void = () => undefined;
    const history = new HistoryRecorder(
      record.events,
      () => this.opts.clock.now(),
      prepared.stateTypes,
      () => {
        // As on AWS, a runaway loop ends the execution instead of growing its history without bound.
        Object.assign(record, {
          error: "States.Runtime",
          cause: `the execution history reached the limit of ${HISTORY_EVENT_LIMIT} events`,
        });
        limitReached = true;
        abort();
      },
    );
    let limitReached = false;
    history.add("ExecutionStarted", {
      executionStartedEventDetails: {
        input: record.input,
        inputDetails: { truncated: false },
        roleArn: machine.roleArn,
      },
    });
    const engine = new StateMachine(prepared.definition as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false },
    });
    const handle = engine.run(JSON.parse(record.input), {
      overrides: {
        taskResourceLocalHandlers: this.taskHandlers(prepared, history),
        retryIntervalOverrides: this.retryIntervals(prepared),
      },
      context: {
        Execution: {
          Id: record.executionArn,
          Input: JSON.parse(record.input),
          Name: record.name,
          RoleArn: machine.roleArn,
          StartTime: record.startDate,
        },
        StateMachine: { Id: machine.stateMachineArn, Name: machine.name },
        // The engine leaves $$.State out; EnteredTime reads the endpoint's clock when a path asks for it,
        // so a definition that passes "$$.State.EnteredTime" to a handler sees clock time, as on AWS.
        State: this.stateContext(),
      },
    });
    abort = handle.abort;
    const logs = (async () => {
      for await (const log of handle.eventLogs) {
        if (log.type === "ExecutionFailed")
          Object.assign(record, {
            error: log.Error,
            cause: typeof log.Cause === "string" ? log.Cause : JSON.stringify(log.Cause),
          });
        history.fromEngine(log);
      }
    })();
    const done = (async () => {
      try {
        const output = await handle.result;
        record.output = JSON.stringify(output);
        record.status = "SUCCEEDED";
      } catch (err) {
        if (err instanceof ExecutionAbortedError) record.status = limitReached ? "FAILED" : "ABORTED";
        else if (err instanceof ExecutionTimeoutError) {
          Object.assign(record, {
            status: "TIMED_OUT",
            error: "States.Timeout",
            cause: "the execution ran longer than the state machine's TimeoutSeconds",
          });
        } else {
          record.status = "FAILED";
          record.error ??= (err as Error).name;
          record.cause ??= (err as Error).message;
        }
      }
      // The engine's events arrive through an async generator; let it finish so the history stays in order.
      await logs.catch(() => undefined);
      record.stopDate = this.now();
      if (record.status === "SUCCEEDED")
        history.add("ExecutionSucceeded", {
          executionSucceededEventDetails: { output: record.output, outputDetails: { truncated: false } },
        });
      else if (record.status === "FAILED")
        history.add("ExecutionFailed", {
          executionFailedEventDetails: { error: record.error, cause: record.cause },
        });
      else if (record.status === "TIMED_OUT")
        history.add("ExecutionTimedOut", {
          executionTimedOutEventDetails: { error: record.error, cause: record.cause },
        });
      else
        history.add("ExecutionAborted", {
          executionAbortedEventDetails: {
            ...(record.error ? { error: record.error } : {}),
            ...(record.cause ? { cause: record.cause } : {}),
          },
        });
      this.persist(record);
    })().finally(() => this.running.delete(record.executionArn));
    this.running.set(record.executionArn, { abort: handle.abort, done });
  }

  private stateContext(): Record<string, unknown> {
    const state = {};
    Object.defineProperty(state, "EnteredTime", {
      enumerable: true,
      get: () => this.opts.clock.now().toISOString(),
    });
    return state;
  }

  /** One in-process handler per Task state: Lambda function tasks, `lambda:invoke` tasks and the clock-driven Waits. */
  private taskHandlers(prepared: PreparedDefinition, history: HistoryRecorder) {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [state, resource] of prepared.tasks) {
      handlers[state] = (input) => this.invokeTask(resource, input, history);
    }
    for (const [state, wait] of prepared.waits) {
      handlers[state] = async (input) => {
        // Let WaitStateEntered be stamped before the clock moves on.
        await new Promise((resolve) => setImmediate(resolve));
        await this.opts.clock.sleep(waitSeconds(wait, input, this.opts.clock.now()));
        return input;
      };
    }
    return handlers as unknown as NonNullable<
      NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]
    >;
  }

  private async invokeTask(resource: string, input: unknown, history: HistoryRecorder): Promise<unknown> {
    const viaInvoke = resource === "arn:aws:states:::lambda:invoke";
    const params = input as { FunctionName?: string; Payload?: unknown };
    const functionName = viaInvoke ? String(params.FunctionName ?? "") : resource;
    const payload = viaInvoke ? (params.Payload ?? {}) : input;
    const prefix = viaInvoke ? "Task" : "LambdaFunction";
    // The engine reports StateEntered through an async generator: let it land first so the history stays in order.
    await new Promise((resolve) => setImmediate(resolve));
    history.add(
      `${prefix}Scheduled`,
      viaInvoke
        ? {
            taskScheduledEventDetails: {
              resourceType: "lambda",
              resource: "invoke",
              region: this.opts.region,
              parameters: JSON.stringify(input),
            },
          }
        : {
            lambdaFunctionScheduledEventDetails: {
              resource,
              input: JSON.stringify(input),
              inputDetails: { truncated: false },
            },
          },
    );
    const fn = this.opts.functions.get(functionName);
    if (!fn) {
      const cause = `Function not found: ${functionName}`;
      history.add(viaInvoke ? "TaskFailed" : "LambdaFunctionStartFailed", {
        [viaInvoke ? "taskFailedEventDetails" : "lambdaFunctionStartFailedEventDetails"]: {
          error: "Lambda.ResourceNotFoundException",
          cause,
        },
      });
      throw new TaskError("Lambda.ResourceNotFoundException", cause);
    }
    history.add(
      `${prefix}Started`,
      viaInvoke ? { taskStartedEventDetails: { resourceType: "lambda", resource: "invoke" } } : {},
    );
    try {
      const result = await fn.invoke(payload);
      const output = viaInvoke ? { ExecutedVersion: "$LATEST", Payload: result, StatusCode: 200 } : result;
      history.add(
        `${prefix}Succeeded`,
        viaInvoke
          ? {
              taskSucceededEventDetails: {
                resourceType: "lambda",
                resource: "invoke",
                output: JSON.stringify(output),
                outputDetails: { truncated: false },
              },
            }
          : {
              lambdaFunctionSucceededEventDetails: {
                output: JSON.stringify(output),
                outputDetails: { truncated: false },
              },
            },
      );
      return output;
    } catch (err) {
      const e =
        err instanceof LambdaInvocationError
          ? err
          : new LambdaInvocationError((err as Error).name, (err as Error).message, { cause: err });
      const cause = e.toCause();
      history.add(
        `${prefix}Failed`,
        viaInvoke
          ? {
              taskFailedEventDetails: {
                resourceType: "lambda",
                resource: "invoke",
                error: e.errorType,
                cause,
              },
            }
          : { lambdaFunctionFailedEventDetails: { error: e.errorType, cause } },
      );
      throw new TaskError(e.errorType, cause);
    }
  }

  /** Retry intervals in real milliseconds: the ASL's seconds on the endpoint's clock scale. */
  private retryIntervals(prepared: PreparedDefinition): Record<string, number[]> {
    const scale = (this.opts.clock as { timeScale?: number }).timeScale ?? 0;
    const out: Record<string, number[]> = {};
    for (const [state, retriers] of prepared.retriers) {
      const r = retriers[0] ?? {};
      const attempts = Math.max(0, ...retriers.map((x) => x.MaxAttempts ?? 3));
      out[state] = Array.from({ length: attempts }, (_, k) => {
        const seconds = Math.min(
          (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k,
          r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
        );
        return seconds * 1000 * scale;
      });
    }
    return out;
  }

  describeExecution(arn: string): ExecutionRecord {
    const found = this.executions.get(arn);
    if (!found) throw sfnError("ExecutionDoesNotExist", `Execution Does Not Exist: '${arn}'`);
    return found;
  }

  /** Newest first, as the console lists them. */
  listExecutions(stateMachineArn: string, statusFilter?: string): ExecutionRecord[] {
    this.describeStateMachine(stateMachineArn);
    return [...this.executions.values()]
      .filter((e) => e.stateMachineArn === stateMachineArn && (!statusFilter || e.status === statusFilter))
      .sort((a, b) => b.startDate.localeCompare(a.startDate));
  }

  /** Aborts a running execution and resolves once its history is closed; a finished one is returned as it is. */
  async stopExecution(arn: string, error?: string, cause?: string): Promise<ExecutionRecord> {
    const record = this.describeExecution(arn);
    const running = this.running.get(arn);
    if (record.status !== "RUNNING" || !running) return record;
    Object.assign(record, { ...(error ? { error } : {}), ...(cause ? { cause } : {}) });
    running.abort();
    await running.done;
    return record;
  }

  /** Resolves when no execution is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Resolves when this execution has finished. */
  async waitFor(arn: string): Promise<ExecutionRecord> {
    await this.running.get(arn)?.done;
    return this.describeExecution(arn);
  }

  async close(): Promise<void> {
    for (const arn of this.running.keys())
      this.stopExecution(arn, "States.Runtime", "the local endpoint stopped");
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    this.machines.save();
  }
}
