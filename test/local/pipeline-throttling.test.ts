import { afterAll, beforeAll, expect, it } from "vitest";
import {
  approveNewModelPackage,
  awaitFirstExecution,
  pipelineConfig,
  startPipeline,
  type TestPipeline,
} from "./helpers.ts";

/* The same run as pipeline.test.ts with 30% of SageMaker, Greengrass and IoT calls throttled. */
const { config, group } = pipelineConfig();
const devices = { "core-canary-1": "canary", "core-fleet-1": "fleet" } as const;

let pipeline: TestPipeline;

beforeAll(async () => {
  pipeline = await startPipeline({
    config,
    devices,
    modelKey: "classifier.onnx",
    endpoint: { faults: { throttle: { sagemaker: 0.3, greengrass: 0.3, iot: 0.3 }, seed: 42 } },
  });
});

afterAll(async () => {
  await pipeline?.dispose();
});

it("with 30% throttling on sagemaker, greengrass and iot the execution still succeeds", async () => {
  const { ep, sfn } = pipeline;
  await approveNewModelPackage(ep.clients.sagemaker, group.modelPackageGroupName, {
    image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnx:latest",
    modelDataUrl: "s3://models/classifier.onnx",
  });

  const { listed, described, history } = await awaitFirstExecution(ep, sfn);
  expect(listed.executions).toHaveLength(1);
  expect({ status: described.status, error: described.error, cause: described.cause }).toEqual({
    status: "SUCCEEDED",
    error: undefined,
    cause: undefined,
  });

  // Throttling really happened on every service.
  const throttled = Object.fromEntries(ep.faults.throttled);
  const perService = (service: string) =>
    Object.entries(throttled)
      .filter(([k]) => k.startsWith(`${service}:`))
      .reduce((n, [, v]) => n + v, 0);
  for (const service of ["sagemaker", "greengrass", "iot"]) expect(perService(service)).toBeGreaterThan(0);
  expect(history.events?.at(-1)?.type).toBe("ExecutionSucceeded");
  expect(
    history.events?.filter(
      (e) => e.type === "TaskStateEntered" && e.stateEnteredEventDetails?.name === "DeployStage",
    ),
  ).toHaveLength(2);
});
