import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateModelPackageCommand, CreateModelPackageGroupCommand } from "@aws-sdk/client-sagemaker";
import { ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/validate.ts";
import { approvalEventPattern } from "../../events/patterns.ts";
import { eventRouterOf } from "../../local/eventbridge/index.ts";
import type { ScheduleRun } from "../../local/eventbridge/scheduler.ts";
import { stepFunctionsEngineOf } from "../../local/stepfunctions/index.ts";
import { configureFlow, localResources, stateMachineArnOf } from "../../local/wiring.ts";
import { credentials, region, startTestEndpoint, type TestEndpoint } from "./helpers.ts";

let ep: TestEndpoint;
let events: EventBridgeClient;
const config = loadConfig();
const groupName = config.groups[0]?.modelPackageGroupName as string;

beforeAll(async () => {
  configureFlow({ autoSchedules: false, config });
  ep = await startTestEndpoint({ discover: true });
  events = new EventBridgeClient({ endpoint: ep.url, region, credentials });
});

afterAll(() => ep?.dispose());

const tick = async (schedule?: string) => {
  const res = await fetch(`${ep.url}/_edge-mlops/tick`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(schedule ? { schedule } : {}),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { runs: ScheduleRun[] }).runs;
};

describe("EventBridge over the wire", () => {
  it("PutEvents answers per entry and records what it accepted", async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: "edge-mlops",
            DetailType: "ModelDriftDetected",
            Detail: JSON.stringify({ model: "m", fleet: "f" }),
            EventBusName: localResources.eventBusName,
          },
          {
            Source: "edge-mlops",
            DetailType: "ModelDriftDetected",
            Detail: "[1,2]",
            EventBusName: localResources.eventBusName,
          },
          { Source: "aws.sagemaker", DetailType: "SageMaker Model Package State Change", Detail: "{}" },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.Entries?.slice(1).map((e) => e.ErrorCode)).toEqual([
      "MalformedDetail",
      "NotAuthorizedForSourceException",
    ]);
    const { bus } = eventRouterOf(ep.url);
    expect(bus.events.filter((e) => e.id === result.Entries?.[0]?.EventId)).toMatchObject([
      { eventBusName: localResources.eventBusName, detail: { model: "m", fleet: "f" } },
    ]);
    await expect(events.send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({
      name: "ValidationException",
    });
  });

  it("serves the rules from events/ with their targets", async () => {
    const rules = await events.send(new ListRulesCommand({}));
    expect(rules.Rules?.map((r) => r.Name)).toEqual(["edge-mlops-approval"]);
    const rule = await events.send(new DescribeRuleCommand({ Name: "edge-mlops-approval" }));
    expect(JSON.parse(rule.EventPattern as string)).toEqual(approvalEventPattern(config));
    const targets = await events.send(new ListTargetsByRuleCommand({ Rule: "edge-mlops-approval" }));
    expect(targets.Targets?.map((t) => t.Arn)).toEqual([
      `arn:aws:lambda:${region}:000000000000:function:edge-mlops-StartDeployment`,
    ]);
    const project = await events.send(new ListRulesCommand({ EventBusName: localResources.eventBusName }));
    expect(project.Rules?.map((r) => r.Name).sort()).toEqual([
      "edge-mlops-deployment-outcome",
      "edge-mlops-model-drift",
    ]);
  });

  it("tick fires the redeploy schedule: start-deployment starts one execution per Approved group, once per day", async () => {
    // A configured group that does not exist is a failed run (the schedule's DLQ on AWS).
    const [missing] = await tick(localResources.redeployScheduleName);
    expect(missing).toMatchObject({
      status: "FAILED",
      error: expect.stringMatching(/StartDeploymentError: .*does not exist/),
    });
    const sm = ep.clients.sagemaker;
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: groupName }));
    // Nothing approved yet: the run succeeds and starts nothing.
    const [empty] = await tick(localResources.redeployScheduleName);
    expect(empty).toMatchObject({
      schedule: localResources.redeployScheduleName,
      trigger: "tick",
      status: "SUCCEEDED",
      result: { started: [], skipped: [{ reason: "no Approved model package", group: groupName }] },
    });

    const pkg = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: groupName,
        ModelApprovalStatus: "Approved",
        InferenceSpecification: {
          Containers: [
            {
              Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx:latest",
              ModelDataUrl: "s3://models/missing.onnx",
              Framework: "ONNX",
              ModelInput: { DataInputConfig: '{"input":[1,16]}' },
            },
          ],
          SupportedContentTypes: ["application/json"],
          SupportedResponseMIMETypes: ["application/json"],
        },
      }),
    );
    const [run] = await tick(localResources.redeployScheduleName);
    const result = run?.result as {
      started: Array<{ name: string; modelPackageArn: string; executionArn: string }>;
    };
    expect(run?.status).toBe("SUCCEEDED");
    expect(result.started).toHaveLength(1);
    expect(result.started[0]?.modelPackageArn).toBe(pkg.ModelPackageArn);
    // The name carries the schedule's date: a second tick the same (clock) day names the same execution
    // (returned as is while it runs, ExecutionAlreadyExists once closed), so nothing new starts.
    const [second] = await tick(localResources.redeployScheduleName);
    const again = second?.result as {
      started: Array<{ name: string }>;
      alreadyStarted: Array<{ name: string }>;
    };
    expect([...again.started, ...again.alreadyStarted].map((s) => s.name)).toEqual([result.started[0]?.name]);
    expect(result.started[0]?.name).toMatch(/^edge-mlops-example-classifier-v1-\d{8}$/);
    const sfn = new SFNClient({ endpoint: ep.url, region, credentials });
    const listed = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: stateMachineArnOf({ region, accountId: "000000000000" }),
      }),
    );
    // Creating the package Approved also emitted SageMaker's approval event: one execution from each trigger.
    await eventRouterOf(ep.url).bus.idle();
    const again2 = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: stateMachineArnOf({ region, accountId: "000000000000" }),
      }),
    );
    expect(again2.executions?.map((e) => e.name).sort()).toEqual(
      [`${groupName}-v1`, result.started[0]?.name].sort(),
    );
    expect(listed.executions?.length).toBeGreaterThanOrEqual(1);
    await stepFunctionsEngineOf(ep.url).idle();
  });

  it("tick runs the drift aggregation with the Monitoring stack's input", async () => {
    const [run] = await tick(localResources.driftScheduleName);
    expect(run).toMatchObject({ schedule: localResources.driftScheduleName, trigger: "tick" });
    expect(run?.error ?? "").not.toMatch(/Runtime\.(ImportModuleError|HandlerNotFound)/);
    const res = await fetch(`${ep.url}/_edge-mlops/tick`, {
      method: "POST",
      body: JSON.stringify({ schedule: "nope" }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});
