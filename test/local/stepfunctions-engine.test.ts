import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FunctionRegistry, LocalFunction } from "../../local/lambda/invoke.ts";
import { ScaledClock } from "../../local/server/clock.ts";
import { AwsError } from "../../local/server/types.ts";
import { StepFunctionsEngine } from "../../local/stepfunctions/engine.ts";

const region = "us-east-1";
const accountId = "000000000000";
const fnArn = (name: string) => `arn:aws:lambda:${region}:${accountId}:function:${name}`;

/** Handler modules written to disk, loaded through the same in-process path as the real ones. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), "sfn-"));
  writeFileSync(
    join(dir, "double.mjs"),
    "export const handler = async (e, ctx) => ({ value: e.value * 2, fn: ctx.functionName });\n",
  );
  writeFileSync(
    join(dir, "flaky.mjs"),
    "let n = 0;\nexport const handler = async (e) => { n++; if (n < 3) { const err = new Error('slow down'); err.name = 'TransientError'; throw err; } return { ...e, attempts: n }; };\n",
  );
  writeFileSync(
    join(dir, "fail.mjs"),
    "export const handler = async () => { const e = new Error('model is not Approved'); e.name = 'NotApprovedError'; throw e; };\n",
  );
  const functions = new FunctionRegistry();
  for (const name of ["double", "flaky", "fail"])
    functions.add(
      new LocalFunction({ functionName: name, modulePath: join(dir, `${name}.mjs`), region, accountId }),
    );
  const clock = new ScaledClock(0, new Date("2026-11-24T00:00:00Z"));
  const stateDir = join(dir, "state");
  const engine = new StepFunctionsEngine({ clock, region, accountId, stateDir, functions });
  return { engine, clock, stateDir, functions };
}

const definition = JSON.stringify({
  StartAt: "Double",
  TimeoutSeconds: 3600,
  States: {
    Double: { Type: "Task", Resource: fnArn("double"), Next: "Pause" },
    Pause: { Type: "Wait", Seconds: 600, Next: "Flaky" },
    Flaky: {
      Type: "Task",
      Resource: fnArn("flaky"),
      Retry: [{ ErrorEquals: ["TransientError"], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2 }],
      Next: "Done",
    },
    Done: { Type: "Succeed" },
  },
});

describe("Step Functions engine", () => {
  it("runs Tasks in-process, Waits on the clock, retries by error name, and records AWS-shaped history", async () => {
    const { engine, clock } = setup();
    const sm = engine.createStateMachine({ name: "demo", definition });
    const before = clock.now().getTime();
    const e = engine.startExecution({
      stateMachineArn: sm.stateMachineArn,
      name: "run-1",
      input: '{"value":21}',
    });
    expect(e.executionArn).toBe(`arn:aws:states:${region}:${accountId}:execution:demo:run-1`);
    const done = await engine.waitFor(e.executionArn);
    expect(done.status).toBe("SUCCEEDED");
    expect(JSON.parse(done.output ?? "")).toEqual({ value: 42, fn: "double", attempts: 3 });
    // The 600 s Wait advanced the endpoint's clock, not the wall clock.
    expect(clock.now().getTime() - before).toBeGreaterThanOrEqual(600_000);
    const types = done.events.map((ev) => ev.type);
    expect(types).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionSucceeded",
      "TaskStateExited",
      "WaitStateEntered",
      "WaitStateExited",
      "TaskStateEntered",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionFailed",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionFailed",
      "LambdaFunctionScheduled",
      "LambdaFunctionStarted",
      "LambdaFunctionSucceeded",
      "TaskStateExited",
      "SucceedStateEntered",
      "SucceedStateExited",
      "ExecutionSucceeded",
    ]);
    expect(done.events.map((ev) => ev.id)).toEqual(done.events.map((_, i) => i + 1));
    const failed = done.events.find((ev) => ev.type === "LambdaFunctionFailed") as unknown as {
      lambdaFunctionFailedEventDetails: { error: string; cause: string };
    };
    expect(failed.lambdaFunctionFailedEventDetails.error).toBe("TransientError");
    expect(JSON.parse(failed.lambdaFunctionFailedEventDetails.cause)).toMatchObject({
      errorType: "TransientError",
      errorMessage: "slow down",
    });
    expect(done.events[0]).toMatchObject({ executionStartedEventDetails: { input: '{"value":21}' } });
  });

  it("dedups StartExecution by name as AWS does", async () => {
    const { engine } = setup();
    const sm = engine.createStateMachine({ name: "demo", definition });
    const first = engine.startExecution({
      stateMachineArn: sm.stateMachineArn,
      name: "same",
      input: '{"value":1}',
    });
    // Same name and input while RUNNING: the same execution back.
    expect(
      engine.startExecution({ stateMachineArn: sm.stateMachineArn, name: "same", input: '{"value":1}' }),
    ).toBe(first);
    expect(() =>
      engine.startExecution({ stateMachineArn: sm.stateMachineArn, name: "same", input: '{"value":2}' }),
    ).toThrow(expect.objectContaining({ code: "ExecutionAlreadyExists" }));
    await engine.waitFor(first.executionArn);
    // Once closed, even the same input is refused.
    expect(() =>
      engine.startExecution({ stateMachineArn: sm.stateMachineArn, name: "same", input: '{"value":1}' }),
    ).toThrow(AwsError);
    expect(engine.listExecutions(sm.stateMachineArn)).toHaveLength(1);
    expect(() => engine.startExecution({ stateMachineArn: sm.stateMachineArn, name: "bad name" })).toThrow(
      expect.objectContaining({ code: "InvalidName" }),
    );
    expect(() => engine.startExecution({ stateMachineArn: sm.stateMachineArn, input: "{" })).toThrow(
      expect.objectContaining({ code: "InvalidExecutionInput" }),
    );
  });

  it("a Lambda error caught by nothing fails the execution with the errorType and Lambda's Cause JSON", async () => {
    const { engine } = setup();
    const sm = engine.createStateMachine({
      name: "failing",
      definition: JSON.stringify({
        StartAt: "F",
        States: { F: { Type: "Task", Resource: fnArn("fail"), End: true } },
      }),
    });
    const e = await engine.waitFor(
      engine.startExecution({ stateMachineArn: sm.stateMachineArn }).executionArn,
    );
    expect(e.status).toBe("FAILED");
    expect(e.error).toBe("NotApprovedError");
    expect(JSON.parse(e.cause ?? "")).toMatchObject({
      errorType: "NotApprovedError",
      errorMessage: "model is not Approved",
    });
    expect(e.events.at(-1)).toMatchObject({
      type: "ExecutionFailed",
      executionFailedEventDetails: { error: "NotApprovedError" },
    });
  });

  it("StopExecution aborts a waiting execution; finished executions survive a restart", async () => {
    const { engine, stateDir, functions, clock } = setup();
    const sm = engine.createStateMachine({
      name: "slow",
      definition: JSON.stringify({
        StartAt: "W",
        States: {
          W: { Type: "Wait", Seconds: 10, Next: "D" },
          D: { Type: "Task", Resource: fnArn("double"), End: true },
        },
      }),
    });
    // A real time scale keeps the Wait pending long enough to stop it.
    const slowClock = new ScaledClock(1);
    const slowEngine = new StepFunctionsEngine({
      clock: slowClock,
      region,
      accountId,
      stateDir: `${stateDir}-slow`,
      functions,
    });
    const slowSm = slowEngine.createStateMachine({
      name: "slow",
      definition: engine.describeStateMachine(sm.stateMachineArn).definition,
    });
    const running = slowEngine.startExecution({
      stateMachineArn: slowSm.stateMachineArn,
      name: "stop-me",
      input: '{"value":1}',
    });
    const stopped = await slowEngine.stopExecution(running.executionArn, "Operator", "stopped by test");
    expect(stopped).toMatchObject({ status: "ABORTED", error: "Operator", cause: "stopped by test" });
    await slowEngine.idle();
    expect(slowEngine.describeExecution(running.executionArn).events.at(-1)?.type).toBe("ExecutionAborted");
    slowClock.close();

    const ok = await engine.waitFor(
      engine.startExecution({ stateMachineArn: sm.stateMachineArn, name: "keep", input: '{"value":5}' })
        .executionArn,
    );
    await engine.close();
    const again = new StepFunctionsEngine({ clock, region, accountId, stateDir, functions });
    expect(again.describeExecution(ok.executionArn)).toMatchObject({
      status: "SUCCEEDED",
      output: ok.output,
    });
    expect(again.describeExecution(ok.executionArn).events).toHaveLength(ok.events.length);
    expect(again.listStateMachines().map((m) => m.name)).toEqual(["slow"]);
  });

  it("$$.State.EnteredTime reads the endpoint's clock, so handlers can measure waits the way they would on AWS", async () => {
    const { engine, clock } = setup();
    const sm = engine.createStateMachine({
      name: "timed",
      definition: JSON.stringify({
        StartAt: "Before",
        States: {
          Before: {
            Type: "Pass",
            Parameters: { "t.$": "$$.State.EnteredTime" },
            ResultPath: "$.before",
            Next: "Hold",
          },
          Hold: { Type: "Wait", Seconds: 600, Next: "After" },
          After: {
            Type: "Pass",
            Parameters: { "t.$": "$$.State.EnteredTime" },
            ResultPath: "$.after",
            End: true,
          },
        },
      }),
    });
    const start = clock.now().getTime();
    const done = await engine.waitFor(
      engine.startExecution({ stateMachineArn: sm.stateMachineArn }).executionArn,
    );
    const out = JSON.parse(done.output ?? "{}") as { before: { t: string }; after: { t: string } };
    expect(Date.parse(out.before.t)).toBeGreaterThanOrEqual(start);
    expect(Date.parse(out.after.t) - Date.parse(out.before.t)).toBeGreaterThanOrEqual(600_000);
  });

  it("in-process Lambda: timeouts, missing exports and load failures surface as Lambda's error types", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lambda-"));
    writeFileSync(
      join(dir, "slow.mjs"),
      "export const handler = () => new Promise((r) => setTimeout(r, 5000));\n",
    );
    writeFileSync(join(dir, "noexport.mjs"), "export const other = 1;\n");
    writeFileSync(
      join(dir, "ctx.mjs"),
      "export const handler = async (e, c) => ({ arn: c.invokedFunctionArn, left: c.getRemainingTimeInMillis() > 0, env: process.env.LOCAL_TEST_VAR, e });\n",
    );
    const fn = (name: string, extra: Partial<ConstructorParameters<typeof LocalFunction>[0]> = {}) =>
      new LocalFunction({
        functionName: name,
        modulePath: join(dir, `${name}.mjs`),
        region,
        accountId,
        ...extra,
      });
    await expect(fn("slow", { timeoutSeconds: 0.05 }).invoke({})).rejects.toMatchObject({
      errorType: "Sandbox.Timedout",
      name: "Sandbox.Timedout",
    });
    await expect(fn("noexport").invoke({})).rejects.toMatchObject({ errorType: "Runtime.HandlerNotFound" });
    await expect(fn("missing").invoke({})).rejects.toMatchObject({ errorType: "Runtime.ImportModuleError" });
    const ctx = fn("ctx", { environment: { LOCAL_TEST_VAR: "set-before-load" } });
    const event = { a: [1, 2] };
    expect(await ctx.invoke(event)).toEqual({
      arn: fnArn("ctx"),
      left: true,
      env: "set-before-load",
      e: event,
    });
  });
});
