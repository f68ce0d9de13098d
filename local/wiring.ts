/**
 * The "flow" half of the local endpoint: Greengrass, Step Functions, EventBridge (+ Scheduler) and
 * the capture queue, plugged into a started endpoint's core, with the project's handlers bound
 * in-process the way the stacks bind them on AWS.
 *
 * `startLocalEndpoint` loads each folder's `createService` (local/<folder>/index.ts); those read the
 * settings given here with `configureFlow` (or the defaults) and share one function registry per
 * endpoint through `flowFunctions`. `flowServiceFactories()` lists them for callers that pass
 * factories explicitly (with `discover: false`).
 *
 * In-process handlers read their endpoint from process.env at module load (module-scope SDK
 * clients), so one process serves one endpoint URL for its handlers: restart on the same port.
 */
import { fileURLToPath } from "node:url";
import type { EdgeMlopsConfig } from "../config/types.ts";
import { loadConfig } from "../config/validate.ts";
import { taskFunctions } from "../stepfunctions/edge-deployment.ts";
import { endpointEnvironment, FunctionRegistry, LocalFunction } from "./lambda/invoke.ts";
import type { LocalContext, ServiceFactory } from "./server/types.ts";

/** Names of the resources the local stacks' equivalents use. */
export const localResources = {
  artifactBucket: "edge-mlops-artifacts",
  captureBucket: "edge-mlops-capture",
  resultsBucket: "edge-mlops-results",
  eventBusName: "edge-mlops",
  stateMachineName: "edge-deployment",
  redeployScheduleName: "edge-mlops-redeploy",
  driftScheduleName: "edge-mlops-drift",
  captureQueueName: "edge-mlops-capture",
} as const;

export interface FlowSettings {
  config: EdgeMlopsConfig;
  sageMakerRoleArn: string;
  /** Fire schedules on the clock (tick() works either way); tests turn this off to stay deterministic. */
  autoSchedules: boolean;
  capture: {
    duplicateRate: number;
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
    batchSize: number;
  };
  /** Extra variables for every in-process function. */
  environment: Record<string, string>;
}

let settings: FlowSettings | undefined;

/** Settings for the endpoints started next in this process (partial values merge over the defaults). */
export function configureFlow(overrides: Partial<FlowSettings> = {}): FlowSettings {
  settings = { ...defaults(), ...overrides, capture: { ...defaults().capture, ...overrides.capture } };
  return settings;
}

export function flowSettings(): FlowSettings {
  settings ??= defaults();
  return settings;
}

function defaults(): FlowSettings {
  return {
    config: loadConfig(),
    sageMakerRoleArn: "arn:aws:iam::000000000000:role/edge-mlops-sagemaker",
    autoSchedules: true,
    // Six times the function timeout, as the stack sets it; five receives before the DLQ.
    capture: { duplicateRate: 0, visibilityTimeoutSeconds: 6 * 120, maxReceiveCount: 5, batchSize: 10 },
    environment: {},
  };
}

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const registries = new Map<string, FunctionRegistry>();

export const flowFunctionNames = {
  startDeployment: "edge-mlops-StartDeployment",
  analyzeCapture: "edge-mlops-AnalyzeCapture",
  aggregateDrift: "edge-mlops-AggregateDrift",
} as const;

export function stateMachineArnOf(ctx: Pick<LocalContext, "region" | "accountId">): string {
  return `arn:aws:states:${ctx.region}:${ctx.accountId}:stateMachine:${localResources.stateMachineName}`;
}

/** Function name for a Task key, e.g. ResolveModelPackageFunctionArn → edge-mlops-ResolveModelPackage. */
export const taskFunctionName = (key: string) => `edge-mlops-${key.replace(/FunctionArn$/, "")}`;

/**
 * Every function of the stacks, bound in-process to its handler module with the environment the
 * stacks give it, pointed at this endpoint. One registry per endpoint URL.
 */
export function flowFunctions(ctx: LocalContext): FunctionRegistry {
  const url = ctx.endpointUrl;
  if (!url)
    throw new Error("the flow services need ctx.endpointUrl to point in-process handlers at the endpoint");
  const existing = registries.get(url);
  if (existing) return existing;
  const s = flowSettings();
  const base = {
    ...endpointEnvironment(url, ctx.region),
    EDGE_MLOPS_CONFIG: JSON.stringify(s.config),
    ARTIFACT_BUCKET: localResources.artifactBucket,
    EVENT_BUS_NAME: localResources.eventBusName,
    SAGEMAKER_ROLE_ARN: s.sageMakerRoleArn,
    STATE_MACHINE_ARN: stateMachineArnOf(ctx),
    CAPTURE_BUCKET: localResources.captureBucket,
    CAPTURE_PREFIX: `${s.config.capturePrefix.replace(/\/+$/, "")}/`,
    RESULTS_BUCKET: localResources.resultsBucket,
    DRIFT_WINDOW_HOURS: String(s.config.driftWindowHours),
    POWERTOOLS_SERVICE_NAME: "edge-mlops",
    POWERTOOLS_METRICS_NAMESPACE: "EdgeMlops",
    ...s.environment,
  };
  const registry = new FunctionRegistry();
  const add = (functionName: string, modulePath: string, timeoutSeconds: number) =>
    registry.add(
      new LocalFunction({
        functionName,
        modulePath,
        root: repoRoot,
        region: ctx.region,
        accountId: ctx.accountId,
        timeoutSeconds,
        environment: base,
      }),
    );
  for (const [key, path] of Object.entries(taskFunctions))
    add(taskFunctionName(key), path, key === "StartPackagingFunctionArn" ? 300 : 60);
  add(flowFunctionNames.startDeployment, "functions/deployment/start-deployment.ts", 60);
  add(flowFunctionNames.analyzeCapture, "functions/drift/analyze-capture.ts", 120);
  add(flowFunctionNames.aggregateDrift, "functions/drift/aggregate-drift.ts", 600);
  registries.set(url, registry);
  return registry;
}

/**
 * The flow services by folder name, for `startLocalEndpoint({ discover: false, services: await flowServiceFactories() })`;
 * the names match the folders, so their state lands where discovery would put it.
 */
export async function flowServiceFactories(): Promise<Record<string, ServiceFactory>> {
  const [eventbridge, greengrass, sqs, stepfunctions] = await Promise.all([
    import("./eventbridge/index.ts"),
    import("./greengrass/index.ts"),
    import("./sqs/index.ts"),
    import("./stepfunctions/index.ts"),
  ]);
  return {
    eventbridge: eventbridge.createService,
    greengrass: greengrass.createService,
    sqs: sqs.createService,
    stepfunctions: stepfunctions.createService,
  };
}
