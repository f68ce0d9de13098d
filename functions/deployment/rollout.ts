import {
  type ComponentDeploymentSpecification,
  CreateDeploymentCommand,
  type CreateDeploymentCommandInput,
  type DeploymentIoTJobConfiguration,
  type DeploymentPolicies,
  GetDeploymentCommand,
  type GetDeploymentCommandOutput,
  type GreengrassV2Client,
  ListDeploymentsCommand,
} from "@aws-sdk/client-greengrassv2";
import { DescribeJobCommand, type IoTClient, type JobProcessDetails } from "@aws-sdk/client-iot";
import type { RolloutStage } from "../../config/types.ts";
import { greengrass as defaultGreengrass, iot as defaultIot } from "../shared/clients.ts";
import { DeploymentError } from "./errors.ts";
import { clientToken } from "./names.ts";
import type {
  DeploymentComponentSpec,
  DeploymentPlan,
  DeviceCounts,
  PackagingState,
  RolloutState,
  StageProgress,
  TouchedStage,
} from "./plan.ts";

export const TAG_EXECUTION = "edge-mlops:execution";
export const TAG_STAGE = "edge-mlops:stage";
export const TAG_PREVIOUS = "edge-mlops:previous-deployment";

export interface RolloutEvent {
  plan: DeploymentPlan;
  packaging: PackagingState;
  rollout: RolloutState;
  /**
   * The state's entered time (`$$.State.EnteredTime`): bake and stage timeouts are measured on the
   * execution's clock, which is the wall clock on AWS and the scaled clock on the local endpoint.
   */
  now?: string;
}

/** The execution's clock when the state machine passed it, else the wall clock. */
function clockOf(event: Pick<RolloutEvent, "now">, deps: RolloutDeps): () => Date {
  if (deps.now) return deps.now;
  const entered = event.now ? Date.parse(event.now) : Number.NaN;
  return Number.isNaN(entered) ? () => new Date() : () => new Date(entered);
}

export interface RolloutDeps {
  greengrass?: GreengrassV2Client;
  iot?: IoTClient;
  now?: () => Date;
}

/** Device failures roll a device back on its own; the job itself never aborts the others unless told to. */
export const deploymentPolicies: DeploymentPolicies = {
  failureHandlingPolicy: "ROLLBACK",
  componentUpdatePolicy: { action: "NOTIFY_COMPONENTS", timeoutInSeconds: 60 },
  configurationValidationPolicy: { timeoutInSeconds: 60 },
};

/** The IoT job settings of one stage: rollout rate, abort criteria, per-device timeout. */
export function iotJobConfiguration(stage: RolloutStage): DeploymentIoTJobConfiguration {
  return {
    ...(stage.maximumPerMinute !== undefined
      ? { jobExecutionsRolloutConfig: { maximumPerMinute: stage.maximumPerMinute } }
      : {}),
    ...(stage.abortThresholdPercent !== undefined
      ? {
          abortConfig: {
            criteriaList: [
              {
                failureType: stage.abortFailureType ?? "ALL",
                action: "CANCEL",
                thresholdPercentage: stage.abortThresholdPercent,
                minNumberOfExecutedThings: stage.abortMinNumberOfExecutedThings ?? 1,
              },
            ],
          },
        }
      : {}),
    ...(stage.inProgressTimeoutMinutes !== undefined
      ? { timeoutConfig: { inProgressTimeoutInMinutes: stage.inProgressTimeoutMinutes } }
      : {}),
  };
}

/** The group's components with ours set to the new versions; every other component is kept as it was. */
export function mergeComponents(
  current: Record<string, DeploymentComponentSpec> | undefined,
  packaged: PackagingState["components"],
): Record<string, ComponentDeploymentSpecification> {
  const merged: Record<string, ComponentDeploymentSpecification> = structuredClone(current ?? {}) as Record<
    string,
    ComponentDeploymentSpecification
  >;
  for (const c of packaged)
    merged[c.componentName] = { ...merged[c.componentName], componentVersion: c.componentVersion };
  return merged;
}

async function latestDeployment(
  greengrass: GreengrassV2Client,
  targetArn: string,
): Promise<GetDeploymentCommandOutput | undefined> {
  const listed = await greengrass.send(
    new ListDeploymentsCommand({ targetArn, historyFilter: "LATEST_ONLY" }),
  );
  const latest = listed.deployments?.find((d) => d.targetArn === targetArn) ?? listed.deployments?.[0];
  if (!latest?.deploymentId) return undefined;
  return greengrass.send(new GetDeploymentCommand({ deploymentId: latest.deploymentId }));
}

/**
 * Deploys the new component versions to the stage's thing group, merged into the group's current
 * deployment, and remembers that deployment's components for rollback. A retry after the
 * CreateDeployment landed finds its own deployment (by tags) and does not mistake it for "previous".
 */
export async function deployStage(event: RolloutEvent, deps: RolloutDeps = {}): Promise<RolloutState> {
  const greengrass = deps.greengrass ?? defaultGreengrass;
  const now = clockOf(event, deps);
  const { plan, packaging, rollout } = event;
  const stage = plan.stages[rollout.index];
  if (!stage)
    throw new DeploymentError(`no rollout stage at index ${rollout.index} (plan has ${plan.stages.length})`);
  if (packaging.components.length === 0)
    throw new DeploymentError("packaging produced no components to deploy");

  const current = await latestDeployment(greengrass, stage.targetArn);
  let touched: TouchedStage;
  if (current?.tags?.[TAG_EXECUTION] === plan.executionName && current.tags?.[TAG_STAGE] === stage.name) {
    const previousId = current.tags?.[TAG_PREVIOUS];
    const previous = previousId
      ? await greengrass.send(new GetDeploymentCommand({ deploymentId: previousId }))
      : undefined;
    touched = {
      stageName: stage.name,
      targetArn: stage.targetArn,
      deploymentId: current.deploymentId as string,
      ...(previousId ? { previousDeploymentId: previousId } : {}),
      ...(previous?.components
        ? { previousComponents: previous.components as Record<string, DeploymentComponentSpec> }
        : {}),
    };
  } else {
    // A cancelled deployment (e.g. an earlier rollback's) is not a state to return to.
    const restorable = current?.deploymentStatus === "CANCELED" ? undefined : current;
    const request: CreateDeploymentCommandInput = {
      targetArn: stage.targetArn,
      deploymentName: `${plan.componentName} ${plan.componentVersion} (${stage.name})`,
      components: mergeComponents(
        current?.components as Record<string, DeploymentComponentSpec> | undefined,
        packaging.components,
      ),
      deploymentPolicies,
      iotJobConfiguration: iotJobConfiguration(stage),
      clientToken: clientToken(plan.executionName, stage.name, "deploy"),
      tags: {
        [TAG_EXECUTION]: plan.executionName,
        [TAG_STAGE]: stage.name,
        ...(restorable?.deploymentId ? { [TAG_PREVIOUS]: restorable.deploymentId } : {}),
      },
    };
    const created = await greengrass.send(new CreateDeploymentCommand(request));
    if (!created.deploymentId)
      throw new DeploymentError(`CreateDeployment for ${stage.targetArn} returned no deploymentId`);
    touched = {
      stageName: stage.name,
      targetArn: stage.targetArn,
      deploymentId: created.deploymentId,
      ...(restorable?.deploymentId ? { previousDeploymentId: restorable.deploymentId } : {}),
      ...(restorable?.components
        ? { previousComponents: restorable.components as Record<string, DeploymentComponentSpec> }
        : {}),
    };
  }
  const progress: StageProgress = {
    stageIndex: rollout.index,
    stageName: stage.name,
    deploymentId: touched.deploymentId,
    startedAt: now().toISOString(),
    polls: 0,
    status: "IN_PROGRESS",
  };
  return {
    ...rollout,
    touched: [...rollout.touched.filter((t) => t.stageName !== stage.name), touched],
    current: progress,
  };
}

/** Device counts from the IoT job: one DescribeJob, whatever the fleet size. */
export function deviceCounts(details: JobProcessDetails | undefined): DeviceCounts {
  const d = details ?? {};
  const succeeded = d.numberOfSucceededThings ?? 0;
  const failed =
    (d.numberOfFailedThings ?? 0) + (d.numberOfRejectedThings ?? 0) + (d.numberOfTimedOutThings ?? 0);
  const inProgress = d.numberOfInProgressThings ?? 0;
  const queued = d.numberOfQueuedThings ?? 0;
  const canceled = d.numberOfCanceledThings ?? 0;
  const removed = d.numberOfRemovedThings ?? 0;
  return {
    total: succeeded + failed + inProgress + queued + canceled,
    succeeded,
    failed,
    inProgress,
    queued,
    canceled,
    removed,
  };
}

export interface GateInput {
  stage: RolloutStage;
  counts: DeviceCounts;
  deploymentStatus?: string;
  jobStatus?: string;
  startedAt: string;
  thresholdReachedAt?: string;
  now: Date;
}

/**
 * The stage gate. Fails on too many device failures, a cancelled/failed deployment or job, or the
 * stage timeout; passes once the success ratio has held at or above the threshold for the bake time.
 */
export function decideGate(
  input: GateInput,
): Pick<StageProgress, "status" | "reason" | "thresholdReachedAt"> {
  const { stage, counts, now } = input;
  const summary = `${counts.succeeded}/${counts.total} succeeded, ${counts.failed} failed, ${counts.inProgress + counts.queued} pending`;
  if (counts.failed > stage.maxFailures)
    return {
      status: "FAILED",
      reason: `${counts.failed} device(s) failed, more than maxFailures ${stage.maxFailures} (${summary})`,
    };
  if (
    input.deploymentStatus === "FAILED" ||
    input.deploymentStatus === "CANCELED" ||
    input.jobStatus === "CANCELED"
  )
    return {
      status: "FAILED",
      reason: `deployment ${input.deploymentStatus ?? "?"}, IoT job ${input.jobStatus ?? "?"} (abort criteria met or cancelled) (${summary})`,
    };
  const reached =
    counts.total > 0 && (counts.succeeded * 100) / counts.total >= stage.successThresholdPercent;
  const thresholdReachedAt = reached ? (input.thresholdReachedAt ?? now.toISOString()) : undefined;
  if (thresholdReachedAt && now.getTime() - Date.parse(thresholdReachedAt) >= stage.bakeSeconds * 1000)
    return { status: "PASSED", reason: `${summary}; baked ${stage.bakeSeconds} s`, thresholdReachedAt };
  const elapsed = (now.getTime() - Date.parse(input.startedAt)) / 1000;
  if (elapsed > stage.timeoutSeconds)
    return {
      status: "FAILED",
      reason: `timed out after ${Math.round(elapsed)} s (timeoutSeconds ${stage.timeoutSeconds}) with ${summary}, threshold ${stage.successThresholdPercent}%`,
    };
  return { status: "IN_PROGRESS", ...(thresholdReachedAt ? { thresholdReachedAt } : {}) };
}

/** One rollout poll: GetDeployment (for the job id and status) + DescribeJob (for counts), then the gate. */
export async function checkRollout(
  event: Pick<RolloutEvent, "plan" | "rollout" | "now">,
  deps: RolloutDeps = {},
): Promise<RolloutState> {
  const greengrass = deps.greengrass ?? defaultGreengrass;
  const iot = deps.iot ?? defaultIot;
  const { plan, rollout } = event;
  const current = rollout.current;
  const stage = current ? plan.stages[current.stageIndex] : undefined;
  if (!current || !stage) throw new DeploymentError("checkRollout needs the state DeployStage produced");

  const deployment = await greengrass.send(new GetDeploymentCommand({ deploymentId: current.deploymentId }));
  // Right after CreateDeployment the IoT job may not exist yet: that poll counts as no progress.
  const job = deployment.iotJobId
    ? (await iot.send(new DescribeJobCommand({ jobId: deployment.iotJobId }))).job
    : undefined;
  const counts = deviceCounts(job?.jobProcessDetails);
  // Read the clock after the counts, so elapsed time and counts describe the same moment.
  const now = clockOf(event, deps)();
  const gate = decideGate({
    stage,
    counts,
    deploymentStatus: deployment.deploymentStatus,
    jobStatus: job?.status,
    startedAt: current.startedAt,
    ...(current.thresholdReachedAt ? { thresholdReachedAt: current.thresholdReachedAt } : {}),
    now,
  });
  const { thresholdReachedAt: _previous, ...rest } = current;
  const progress: StageProgress = {
    ...rest,
    ...gate,
    polls: current.polls + 1,
    counts,
  };
  if (progress.status !== "PASSED") return { ...rollout, current: progress };
  const index = rollout.index + 1;
  return {
    ...rollout,
    index,
    done: index >= plan.stages.length,
    current: progress,
    completed: [...rollout.completed, progress],
  };
}
