import type { EdgeMlopsConfig } from "../config/types.ts";

/** An EventBridge event pattern (the subset this project uses). */
export interface EventPattern {
  source?: string[];
  "detail-type"?: string[];
  detail?: Record<string, unknown>;
}

/** `source` of every event the project puts on its own bus. */
export const EDGE_MLOPS_SOURCE = "edge-mlops";

/** `detail-type`s the project emits. */
export const EdgeMlopsDetailType = {
  DeploymentSucceeded: "EdgeDeploymentSucceeded",
  DeploymentFailed: "EdgeDeploymentFailed",
  DeploymentRolledBack: "EdgeDeploymentRolledBack",
  ModelDriftDetected: "ModelDriftDetected",
} as const;
export type EdgeMlopsDetailType = (typeof EdgeMlopsDetailType)[keyof typeof EdgeMlopsDetailType];

export const SAGEMAKER_SOURCE = "aws.sagemaker";
export const MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change";

/**
 * The approval rule: a package in one of the configured groups moved to Approved.
 * @example new Rule(stack, "Approved", { eventPattern: approvalEventPattern(loadConfig()) })
 */
export function approvalEventPattern(config: Pick<EdgeMlopsConfig, "groups">) {
  return {
    source: [SAGEMAKER_SOURCE],
    "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
    detail: {
      ModelApprovalStatus: ["Approved"],
      ModelPackageGroupName: config.groups.map((g) => g.modelPackageGroupName),
    },
  } satisfies EventPattern;
}

/** Matches every deployment outcome the pipeline emits (for subscribers and the local router). */
export const deploymentOutcomePattern = {
  source: [EDGE_MLOPS_SOURCE],
  "detail-type": [
    EdgeMlopsDetailType.DeploymentSucceeded,
    EdgeMlopsDetailType.DeploymentFailed,
    EdgeMlopsDetailType.DeploymentRolledBack,
  ],
} as const satisfies EventPattern;

/** Matches drift findings. */
export const modelDriftPattern = {
  source: [EDGE_MLOPS_SOURCE],
  "detail-type": [EdgeMlopsDetailType.ModelDriftDetected],
} as const satisfies EventPattern;

/**
 * The payload the redeploy schedule sends to start-deployment (EventBridge Scheduler, universal
 * Lambda target `Input`). Scheduler fills the `<aws.scheduler.*>` context attributes at each run.
 */
export const REDEPLOY_SCHEDULE_SOURCE = "edge-mlops.scheduler";
export const REDEPLOY_DETAIL_TYPE = "Scheduled Redeploy";
export const redeployScheduleInput = JSON.stringify({
  source: REDEPLOY_SCHEDULE_SOURCE,
  "detail-type": REDEPLOY_DETAIL_TYPE,
  time: "<aws.scheduler.scheduled-time>",
  detail: {
    scheduleArn: "<aws.scheduler.schedule-arn>",
    executionId: "<aws.scheduler.execution-id>",
  },
});

/** The payload the drift schedule sends to aggregate-drift: the window ends at the scheduled time. */
export const driftScheduleInput = (windowHours: number) =>
  JSON.stringify({ time: "<aws.scheduler.scheduled-time>", windowHours });

/** The SageMaker event's `detail`, as far as this project reads it. */
export interface ModelPackageStateChangeDetail {
  ModelPackageGroupName: string;
  ModelPackageVersion: number;
  ModelPackageArn: string;
  ModelApprovalStatus: "Approved" | "Rejected" | "PendingManualApproval";
  ModelPackageStatus?: string;
  CustomerMetadataProperties?: Record<string, string>;
}

/** The scheduler payload's shape once Scheduler has filled it in. */
export interface RedeployScheduleEvent {
  source: typeof REDEPLOY_SCHEDULE_SOURCE;
  "detail-type": typeof REDEPLOY_DETAIL_TYPE;
  time: string;
  detail: { scheduleArn: string; executionId: string };
}
