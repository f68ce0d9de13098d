import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from "@aws-sdk/client-sfn";

/** One state of an execution, all its visits added up (a poll loop visits CheckRollout many times). */
export interface StateTiming {
  name: string;
  visits: number;
  firstEnteredAt: Date;
  /** Time spent inside the state over all visits, in ms. */
  totalMs: number;
  /** A visit failed (TaskFailed, a Fail state, …). */
  failed: boolean;
}

const FAILURE_TYPES = new Set([
  "TaskFailed",
  "LambdaFunctionFailed",
  "ExecutionFailed",
  "MapIterationFailed",
  "FailStateEntered",
]);

/**
 * Per-state timings from GetExecutionHistory events (oldest first), in the order states were first entered.
 * @example stateTimings(events).map((s) => `${s.name} ${s.totalMs} ms`)
 */
export function stateTimings(events: readonly HistoryEvent[]): StateTiming[] {
  const out = new Map<string, StateTiming>();
  const open = new Map<string, Date[]>();
  let lastEntered: string | undefined;
  for (const e of events) {
    const at = e.timestamp ?? new Date(0);
    const entered = e.stateEnteredEventDetails?.name;
    const exited = e.stateExitedEventDetails?.name;
    if (entered) {
      lastEntered = entered;
      const t = out.get(entered) ?? {
        name: entered,
        visits: 0,
        firstEnteredAt: at,
        totalMs: 0,
        failed: false,
      };
      t.visits++;
      out.set(entered, t);
      open.set(entered, [...(open.get(entered) ?? []), at]);
      if (e.type === "FailStateEntered") t.failed = true;
    } else if (exited) {
      const starts = open.get(exited) ?? [];
      const start = starts.shift();
      const t = out.get(exited);
      if (t && start) t.totalMs += at.getTime() - start.getTime();
    } else if (e.type && FAILURE_TYPES.has(e.type) && lastEntered) {
      const t = out.get(lastEntered);
      if (t) t.failed = true;
    }
  }
  return [...out.values()];
}

/** Names of states in the order they were entered, repeats kept (what a scenario test asserts on). */
export function statesVisited(events: readonly HistoryEvent[]): string[] {
  return events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
}

export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

export interface FollowOptions {
  pollMs?: number;
  timeoutMs: number;
  /** Called once per history event, in order, as the execution goes. */
  onEvent?: (event: HistoryEvent) => void;
  /** Called between polls (e.g. to print devices changing version). */
  onTick?: () => void | Promise<void>;
}

/** The execution did not end within the time given. */
export class ExecutionTimeoutError extends Error {
  constructor(
    readonly executionArn: string,
    readonly lastStatus: string,
    timeoutMs: number,
  ) {
    super(`execution ${executionArn} still ${lastStatus} after ${Math.round(timeoutMs / 1000)} s`);
    this.name = "ExecutionTimeoutError";
  }
}

/**
 * Polls an execution until it ends, streaming new history events; ends on failure as well as success.
 * @example const { status, events } = await followExecution(sfn, arn, { timeoutMs: 60_000, onEvent: print });
 */
export async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  options: FollowOptions,
): Promise<{ status: string; error?: string; cause?: string; events: HistoryEvent[] }> {
  const deadline = Date.now() + options.timeoutMs;
  let seen = 0;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await executionHistory(sfn, executionArn);
    for (const e of events.slice(seen)) options.onEvent?.(e);
    seen = events.length;
    await options.onTick?.();
    const status = described.status ?? "UNKNOWN";
    if (status !== "RUNNING") {
      return {
        status,
        events,
        ...(described.error ? { error: described.error } : {}),
        ...(described.cause ? { cause: described.cause } : {}),
      };
    }
    if (Date.now() > deadline) throw new ExecutionTimeoutError(executionArn, status, options.timeoutMs);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}
