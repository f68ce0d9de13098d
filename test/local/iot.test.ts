import {
  AddThingToThingGroupCommand,
  CancelJobCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeJobCommand,
  DescribeJobExecutionCommand,
  DescribeThingCommand,
  DescribeThingGroupCommand,
  ListJobExecutionsForJobCommand,
  ListThingGroupsForThingCommand,
  ListThingsCommand,
  ListThingsInThingGroupCommand,
} from "@aws-sdk/client-iot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IotJobEvent } from "../../local/server/types.ts";
import { startTestEndpoint, type TestEndpoint, until } from "./helpers.ts";

const arn = (kind: string, name: string) => `arn:aws:iot:us-east-1:000000000000:${kind}/${name}`;

describe("local IoT", () => {
  let ep: TestEndpoint;
  const events: IotJobEvent[] = [];

  beforeAll(async () => {
    ep = await startTestEndpoint();
    ep.iot.jobs.subscribe((e) => events.push(e));
    const iot = ep.clients.iot;
    await iot.send(new CreateThingGroupCommand({ thingGroupName: "fleet" }));
    await iot.send(
      new CreateThingGroupCommand({
        thingGroupName: "canary",
        parentGroupName: "fleet",
        thingGroupProperties: { thingGroupDescription: "first" },
      }),
    );
    for (const name of ["core-1", "core-2", "core-3", "core-4"]) {
      await iot.send(
        new CreateThingCommand({
          thingName: name,
          attributePayload: { attributes: { site: name === "core-4" ? "b" : "a" } },
        }),
      );
    }
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: "canary", thingName: "core-1" }));
    await iot.send(
      new AddThingToThingGroupCommand({
        thingGroupArn: arn("thinggroup", "fleet"),
        thingArn: arn("thing", "core-2"),
      }),
    );
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: "fleet", thingName: "core-3" }));
  });
  afterAll(() => ep.dispose());

  it("serves things, groups and memberships with the SDK's field names", async () => {
    const iot = ep.clients.iot;
    const thing = await iot.send(new DescribeThingCommand({ thingName: "core-1" }));
    expect(thing).toMatchObject({
      thingName: "core-1",
      thingArn: arn("thing", "core-1"),
      attributes: { site: "a" },
      version: 1,
    });
    const group = await iot.send(new DescribeThingGroupCommand({ thingGroupName: "canary" }));
    expect(group).toMatchObject({
      thingGroupName: "canary",
      thingGroupArn: arn("thinggroup", "canary"),
      thingGroupProperties: { thingGroupDescription: "first" },
      thingGroupMetadata: {
        parentGroupName: "fleet",
        rootToParentThingGroups: [{ groupName: "fleet", groupArn: arn("thinggroup", "fleet") }],
      },
    });
    expect(group.thingGroupMetadata?.creationDate).toBeInstanceOf(Date);
    expect((await iot.send(new ListThingsInThingGroupCommand({ thingGroupName: "fleet" }))).things).toEqual([
      "core-2",
      "core-3",
    ]);
    expect(
      (await iot.send(new ListThingsInThingGroupCommand({ thingGroupName: "fleet", recursive: true })))
        .things,
    ).toEqual(["core-1", "core-2", "core-3"]);
    expect((await iot.send(new ListThingGroupsForThingCommand({ thingName: "core-1" }))).thingGroups).toEqual(
      [{ groupName: "canary", groupArn: arn("thinggroup", "canary") }],
    );
    const bySite = await iot.send(new ListThingsCommand({ attributeName: "site", attributeValue: "b" }));
    expect(bySite.things?.map((t) => t.thingName)).toEqual(["core-4"]);
    const paged = await iot.send(new ListThingsCommand({ maxResults: 3 }));
    expect(paged.things).toHaveLength(3);
    expect(
      (await iot.send(new ListThingsCommand({ maxResults: 3, nextToken: paged.nextToken }))).things?.map(
        (t) => t.thingName,
      ),
    ).toEqual(["core-4"]);
  });

  it("answers errors with IoT's codes", async () => {
    const iot = ep.clients.iot;
    await expect(iot.send(new DescribeThingGroupCommand({ thingGroupName: "nope" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      iot.send(new AddThingToThingGroupCommand({ thingGroupName: "canary", thingName: "ghost" })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(
      iot.send(
        new CreateThingCommand({ thingName: "core-1", attributePayload: { attributes: { site: "z" } } }),
      ),
    ).rejects.toMatchObject({
      name: "ResourceAlreadyExistsException",
      $metadata: { httpStatusCode: 409 },
    });
    // Same definition again is idempotent, as on AWS.
    await expect(
      iot.send(
        new CreateThingCommand({ thingName: "core-1", attributePayload: { attributes: { site: "a" } } }),
      ),
    ).resolves.toMatchObject({ thingName: "core-1" });
    await expect(iot.send(new DescribeJobCommand({ jobId: "nope" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });

  it("counts job executions in jobProcessDetails as devices report, and completes a snapshot job", async () => {
    const jobs = ep.iot.jobs;
    events.length = 0;
    await jobs.createJob({
      jobId: "deploy-1",
      targets: [arn("thinggroup", "fleet")],
      document: { components: {} },
    });
    expect(events.filter((e) => e.type === "execution-queued").map((e) => e.thingName)).toEqual([
      "core-1",
      "core-2",
      "core-3",
    ]);
    await jobs.updateExecution("deploy-1", "core-1", "IN_PROGRESS");
    await jobs.updateExecution("deploy-1", "core-2", "IN_PROGRESS");
    await jobs.updateExecution("deploy-1", "core-2", "SUCCEEDED");
    const iot = ep.clients.iot;
    const { job } = await iot.send(new DescribeJobCommand({ jobId: "deploy-1" }));
    expect(job).toMatchObject({
      jobId: "deploy-1",
      jobArn: "arn:aws:iot:us-east-1:000000000000:job/deploy-1",
      status: "IN_PROGRESS",
      targetSelection: "SNAPSHOT",
      targets: [arn("thinggroup", "fleet")],
      jobProcessDetails: {
        processingTargets: [arn("thinggroup", "fleet")],
        numberOfQueuedThings: 1,
        numberOfInProgressThings: 1,
        numberOfSucceededThings: 1,
        numberOfFailedThings: 0,
        numberOfCanceledThings: 0,
        numberOfRejectedThings: 0,
        numberOfRemovedThings: 0,
        numberOfTimedOutThings: 0,
      },
    });
    const running = await iot.send(
      new ListJobExecutionsForJobCommand({ jobId: "deploy-1", status: "IN_PROGRESS" }),
    );
    expect(running.executionSummaries?.map((e) => e.thingArn)).toEqual([arn("thing", "core-1")]);
    expect(running.executionSummaries?.[0]?.jobExecutionSummary?.startedAt).toBeInstanceOf(Date);
    await expect(jobs.updateExecution("deploy-1", "core-2", "FAILED")).rejects.toMatchObject({
      code: "InvalidStateTransitionException",
    });
    await jobs.updateExecution("deploy-1", "core-2", "SUCCEEDED"); // a retried report is harmless
    await jobs.updateExecution("deploy-1", "core-1", "FAILED", { reason: "model load" });
    await jobs.updateExecution("deploy-1", "core-3", "SUCCEEDED");
    const done = await iot.send(new DescribeJobCommand({ jobId: "deploy-1" }));
    expect(done.job?.status).toBe("COMPLETED");
    expect(done.job?.completedAt).toBeInstanceOf(Date);
    expect(done.job?.jobProcessDetails).toMatchObject({
      numberOfSucceededThings: 2,
      numberOfFailedThings: 1,
      processingTargets: [],
    });
    const execution = await iot.send(
      new DescribeJobExecutionCommand({ jobId: "deploy-1", thingName: "core-1" }),
    );
    expect(execution.execution).toMatchObject({
      status: "FAILED",
      statusDetails: { detailsMap: { reason: "model load" } },
    });
  });

  it("adds things that join a targeted group to a continuous job, and cancels queued executions", async () => {
    const jobs = ep.iot.jobs;
    await jobs.createJob({
      jobId: "deploy-2",
      targets: [arn("thinggroup", "canary")],
      targetSelection: "CONTINUOUS",
    });
    await ep.clients.iot.send(
      new AddThingToThingGroupCommand({ thingGroupName: "canary", thingName: "core-4" }),
    );
    expect((await jobs.pendingFor("core-4")).map((p) => p.jobId)).toEqual(["deploy-2"]);
    await jobs.updateExecution("deploy-2", "core-1", "IN_PROGRESS");
    const cancelled = await ep.clients.iot.send(
      new CancelJobCommand({ jobId: "deploy-2", reasonCode: "SUPERSEDED", comment: "new revision" }),
    );
    expect(cancelled).toMatchObject({
      jobId: "deploy-2",
      jobArn: "arn:aws:iot:us-east-1:000000000000:job/deploy-2",
    });
    const { job } = await ep.clients.iot.send(new DescribeJobCommand({ jobId: "deploy-2" }));
    expect(job).toMatchObject({
      status: "CANCELED",
      reasonCode: "SUPERSEDED",
      comment: "new revision",
      forceCanceled: false,
    });
    // Without force, the in-progress execution keeps running; the queued one is canceled.
    expect(job?.jobProcessDetails).toMatchObject({ numberOfCanceledThings: 1, numberOfInProgressThings: 1 });
    await ep.clients.iot.send(new CancelJobCommand({ jobId: "deploy-2", force: true }));
    expect((await ep.iot.jobs.describe("deploy-2"))?.jobProcessDetails).toMatchObject({
      numberOfCanceledThings: 2,
      numberOfInProgressThings: 0,
    });
  });

  it("rolls a job out at maximumPerMinute: one batch now, the next after a minute of clock time", async () => {
    const jobs = ep.iot.jobs;
    events.length = 0;
    await jobs.createJob({
      jobId: "deploy-rate",
      targets: ["core-1", "core-2", "core-3"].map((t) => arn("thing", t)),
      jobExecutionsRolloutConfig: { maximumPerMinute: 2 },
    });
    expect((await jobs.describe("deploy-rate"))?.jobProcessDetails).toMatchObject({
      numberOfQueuedThings: 2,
    });
    expect(events.map((e) => e.thingName)).toEqual(["core-1", "core-2"]);
    await until(
      () => jobs.describe("deploy-rate"),
      (j) => (j?.jobProcessDetails.numberOfQueuedThings ?? 0) === 3,
    );
    expect(events.map((e) => e.thingName)).toEqual(["core-1", "core-2", "core-3"]);
    await expect(
      jobs.createJob({
        jobId: "bad-rate",
        targets: [arn("thing", "core-1")],
        jobExecutionsRolloutConfig: { maximumPerMinute: 0 },
      }),
    ).rejects.toMatchObject({ code: "InvalidRequestException" });
  });

  it("times out in-progress executions on the clock and aborts a job past its failure threshold", async () => {
    const jobs = ep.iot.jobs;
    await jobs.createJob({
      jobId: "deploy-3",
      targets: [arn("thing", "core-1"), arn("thing", "core-2")],
      timeoutConfig: { inProgressTimeoutInMinutes: 10 },
    });
    await jobs.updateExecution("deploy-3", "core-1", "IN_PROGRESS");
    ep.clock.advance(11 * 60);
    expect((await jobs.describe("deploy-3"))?.jobProcessDetails).toMatchObject({
      numberOfTimedOutThings: 1,
      numberOfQueuedThings: 1,
    });

    await jobs.createJob({
      jobId: "deploy-4",
      targets: [arn("thing", "core-1"), arn("thing", "core-2"), arn("thing", "core-3")],
      abortConfig: {
        criteriaList: [
          { failureType: "FAILED", action: "CANCEL", thresholdPercentage: 50, minNumberOfExecutedThings: 1 },
        ],
      },
    });
    await jobs.updateExecution("deploy-4", "core-1", "FAILED");
    expect(await jobs.describe("deploy-4")).toMatchObject({
      status: "CANCELED",
      reasonCode: "AUTO_ABORT",
      jobProcessDetails: { numberOfFailedThings: 1, numberOfCanceledThings: 2 },
    });
  });
});
