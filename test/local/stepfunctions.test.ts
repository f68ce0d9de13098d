import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureFlow, stateMachineArnOf } from "../../local/wiring.ts";
import { readDefinitionText } from "../../stepfunctions/substitute.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";

const accountId = "000000000000";
let ep: TestEndpoint;
let sfn: SFNClient;

const waitDefinition = JSON.stringify({
  StartAt: "Hold",
  States: {
    Hold: { Type: "Wait", SecondsPath: "$.seconds", Next: "Shape" },
    Shape: { Type: "Pass", Parameters: { "doubled.$": "States.MathAdd($.seconds, $.seconds)" }, End: true },
  },
});

beforeAll(async () => {
  configureFlow({ autoSchedules: false });
  // A real time scale (1 clock second = 10 ms) keeps a long Wait pending long enough to observe.
  ep = await startTestEndpoint({ discover: true, timeScale: 0.01 });
  sfn = new SFNClient({ endpoint: ep.url, region, credentials });
});

afterAll(() => ep?.dispose());

describe("Step Functions over the wire", () => {
  it("pre-registers edge-deployment with the real ASL, its Tasks bound to the project's functions", async () => {
    const arn = stateMachineArnOf({ region, accountId });
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((m) => m.stateMachineArn)).toContain(arn);
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    expect(described).toMatchObject({ name: "edge-deployment", type: "STANDARD", status: "ACTIVE" });
    const definition = JSON.parse(described.definition as string);
    const original = JSON.parse(readDefinitionText());
    expect(Object.keys(definition.States)).toEqual(Object.keys(original.States));
    expect(definition.States.ResolveModelPackage.Resource).toBe(
      `arn:aws:lambda:${region}:${accountId}:function:edge-mlops-ResolveModelPackage`,
    );
  });

  it("a bad console input fails the execution in its first state with a message that says what is wrong", async () => {
    const stateMachineArn = stateMachineArnOf({ region, accountId });
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: "bad-input",
        input: JSON.stringify({ modelPackage: "nope" }),
      }),
    );
    const done = await until(
      () => sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn })),
      (d) => d.status !== "RUNNING",
    );
    expect(done.status).toBe("FAILED");
    expect(`${done.error} ${done.cause}`).toMatch(/modelPackageArn|modelPackageGroupName/);
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
    expect(history.events?.find((e) => e.type === "TaskStateEntered")?.stateEnteredEventDetails?.name).toBe(
      "ResolveModelPackage",
    );
  });

  it("StartExecution dedups by name as AWS does; Wait runs on the endpoint's clock; StopExecution aborts", async () => {
    const created = await sfn.send(
      new CreateStateMachineCommand({
        name: "waiter",
        definition: waitDefinition,
        roleArn: `arn:aws:iam::${accountId}:role/x`,
      }),
    );
    // Same name and definition again is an idempotent retry.
    expect(
      (
        await sfn.send(
          new CreateStateMachineCommand({
            name: "waiter",
            definition: waitDefinition,
            roleArn: `arn:aws:iam::${accountId}:role/x`,
          }),
        )
      ).stateMachineArn,
    ).toBe(created.stateMachineArn);
    await expect(
      sfn.send(
        new CreateStateMachineCommand({
          name: "waiter",
          definition: JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } }),
          roleArn: "arn:aws:iam::000000000000:role/x",
        }),
      ),
    ).rejects.toMatchObject({
      name: "StateMachineAlreadyExists",
    });
    const stateMachineArn = created.stateMachineArn as string;
    const input = JSON.stringify({ seconds: 3600 });
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: "hold-1", input }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: "hold-1", input }));
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate?.getTime()).toBe(first.startDate?.getTime());
    await expect(
      sfn.send(
        new StartExecutionCommand({ stateMachineArn, name: "hold-1", input: JSON.stringify({ seconds: 1 }) }),
      ),
    ).rejects.toMatchObject({
      name: "ExecutionAlreadyExists",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn, name: "has space" })),
    ).rejects.toMatchObject({ name: "InvalidName" });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn, input: "{" }))).rejects.toMatchObject({
      name: "InvalidExecutionInput",
    });

    const stopped = await sfn.send(
      new StopExecutionCommand({
        executionArn: first.executionArn,
        error: "Operator",
        cause: "no longer needed",
      }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(described).toMatchObject({ status: "ABORTED", error: "Operator", cause: "no longer needed" });
    // A closed execution's name cannot be reused, even with the same input.
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn, name: "hold-1", input })),
    ).rejects.toMatchObject({ name: "ExecutionAlreadyExists" });

    const before = ep.clock.now().getTime();
    const quick = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: "hold-2", input: JSON.stringify({ seconds: 30 }) }),
    );
    const done = await until(
      () => sfn.send(new DescribeExecutionCommand({ executionArn: quick.executionArn })),
      (d) => d.status !== "RUNNING",
    );
    expect(done.status).toBe("SUCCEEDED");
    expect(JSON.parse(done.output as string)).toEqual({ doubled: 60 });
    // 30 clock seconds passed (0.3 s of wall time at this scale).
    expect(ep.clock.now().getTime() - before).toBeGreaterThanOrEqual(30_000);
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: quick.executionArn }));
    expect(history.events?.map((e) => e.type)).toEqual([
      "ExecutionStarted",
      "WaitStateEntered",
      "WaitStateExited",
      "PassStateEntered",
      "PassStateExited",
      "ExecutionSucceeded",
    ]);
    const waited =
      (history.events?.[2]?.timestamp?.getTime() ?? 0) - (history.events?.[1]?.timestamp?.getTime() ?? 0);
    expect(waited).toBeGreaterThanOrEqual(30_000);
    const page1 = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: quick.executionArn, maxResults: 4, reverseOrder: true }),
    );
    expect(page1.events?.map((e) => e.id)).toEqual([6, 5, 4, 3]);
    const page2 = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: quick.executionArn,
        maxResults: 4,
        reverseOrder: true,
        nextToken: page1.nextToken,
      }),
    );
    expect(page2.events?.map((e) => e.id)).toEqual([2, 1]);

    const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(list.executions?.map((e) => [e.name, e.status])).toEqual([
      ["hold-2", "SUCCEEDED"],
      ["hold-1", "ABORTED"],
    ]);
    expect(
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: "ABORTED" }))).executions,
    ).toHaveLength(1);
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${stateMachineArn.replace(":stateMachine:", ":execution:")}:nope`,
        }),
      ),
    ).rejects.toMatchObject({ name: "ExecutionDoesNotExist" });
  });

  it("finished executions persist across a restart of the endpoint", async () => {
    const stateMachineArn = stateMachineArnOf({ region, accountId }).replace("edge-deployment", "waiter");
    const before = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    await ep.close();
    const again = await startTestEndpoint({ discover: true, stateDir: ep.dir, timeScale: 0.01 });
    try {
      const sfn2 = new SFNClient({ endpoint: again.url, region, credentials });
      const after = await sfn2.send(new ListExecutionsCommand({ stateMachineArn }));
      expect(after.executions?.map((e) => [e.name, e.status])).toEqual(
        before.executions?.map((e) => [e.name, e.status]),
      );
      const history = await sfn2.send(
        new GetExecutionHistoryCommand({ executionArn: after.executions?.[0]?.executionArn }),
      );
      expect(history.events?.at(-1)?.type).toBe("ExecutionSucceeded");
    } finally {
      await again.close();
    }
  });
});
