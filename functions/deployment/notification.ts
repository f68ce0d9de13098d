import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { EDGE_MLOPS_SOURCE, EdgeMlopsDetailType } from "../../events/patterns.ts";
import { eventBridge as defaultEventBridge } from "../shared/clients.ts";
import { TransientError } from "../shared/errors.ts";
import type { DeploymentPlan, PackagingState, RolloutState } from "./plan.ts";
import type { RollbackResult } from "./rollback-stages.ts";

/** The execution state as it stands when a Notify state runs; how far it got decides what is present. */
export interface ExecutionSnapshot {
  executionName?: string;
  input?: unknown;
  plan?: DeploymentPlan;
  packaging?: PackagingState;
  rollout?: RolloutState;
  rollback?: RollbackResult;
  error?: { Error?: string; Cause?: string };
}

export interface NotifyEvent {
  detailType: "EdgeDeploymentSucceeded" | "EdgeDeploymentFailed" | "EdgeDeploymentRolledBack";
  state: ExecutionSnapshot;
}

/** What the Fail state shows: Error and a readable Cause. */
export interface FailureSummary {
  Error: string;
  Cause: string;
}

/** A Lambda error's Cause is JSON ({errorType, errorMessage, trace}); people want the message. */
export function readableCause(cause: string | undefined): string {
  if (!cause) return "no cause given";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // Not JSON: already a message.
  }
  return cause;
}

function stagesOf(event: ExecutionSnapshot) {
  const rollout = event.rollout;
  return (event.plan?.stages ?? []).map((stage, i) => {
    const done = rollout?.completed.find((p) => p.stageIndex === i);
    const current = rollout?.current?.stageIndex === i ? rollout.current : undefined;
    const progress = done ?? current;
    const rolledBack = event.rollback?.stages.find((s) => s.stageName === stage.name);
    return {
      name: stage.name,
      targetArn: stage.targetArn,
      status: rolledBack ? "ROLLED_BACK" : (progress?.status ?? "NOT_STARTED"),
      ...(progress?.deploymentId ? { deploymentId: progress.deploymentId } : {}),
      ...(progress?.counts ? { counts: progress.counts } : {}),
      ...(progress?.reason ? { gate: progress.reason } : {}),
    };
  });
}

/** The failure the execution ends with, or undefined for success. */
export function failureOf(
  detailType: NotifyEvent["detailType"],
  event: ExecutionSnapshot,
): FailureSummary | undefined {
  if (detailType === EdgeMlopsDetailType.DeploymentSucceeded) return undefined;
  const current = event.rollout?.current;
  if (detailType === EdgeMlopsDetailType.DeploymentRolledBack && current?.status === "FAILED") {
    const rolledBack = event.rollback?.stages.map((s) => s.stageName).join(", ") || "none";
    return {
      Error: "GateFailed",
      Cause: `stage ${current.stageName} failed its gate: ${current.reason ?? "no reason"}; rolled back: ${rolledBack}`,
    };
  }
  const cause = readableCause(event.error?.Cause);
  const rolledBack = event.rollback
    ? `; rolled back: ${event.rollback.stages.map((s) => s.stageName).join(", ") || "none"}`
    : "";
  return { Error: event.error?.Error ?? "DeploymentFailed", Cause: `${cause}${rolledBack}` };
}

/**
 * Puts the outcome on the project's bus and returns the failure summary for the Fail state.
 * Partial PutEvents failures are retried as TransientError: the entry is the whole point of this state.
 */
export async function notify(
  event: NotifyEvent,
  deps: { eventBusName: string; eventBridge?: EventBridgeClient },
): Promise<FailureSummary | { Error?: undefined; Cause?: undefined }> {
  const eventBridge = deps.eventBridge ?? defaultEventBridge;
  const state = event.state ?? {};
  const { plan } = state;
  const failure = failureOf(event.detailType, state);
  const detail = {
    executionName: plan?.executionName ?? state.executionName,
    trigger: plan?.trigger,
    modelPackageArn:
      plan?.modelPackageArn ?? (state.input as { modelPackageArn?: string } | undefined)?.modelPackageArn,
    modelPackageGroupName: plan?.modelPackageGroupName,
    modelPackageVersion: plan?.modelPackageVersion,
    componentName: plan?.componentName,
    componentVersion: plan?.componentVersion,
    components: state.packaging?.components ?? [],
    targets: plan?.targets.map((t) => t.name) ?? [],
    stages: stagesOf(state),
    reason: failure ? `${failure.Error}: ${failure.Cause}` : "all stages passed their gates",
    ...(state.rollback ? { rolledBack: state.rollback.stages } : {}),
  };
  const result = await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: EDGE_MLOPS_SOURCE,
          DetailType: event.detailType,
          Detail: JSON.stringify(detail),
          EventBusName: deps.eventBusName,
          ...(plan ? { Resources: [plan.modelPackageArn] } : {}),
        },
      ],
    }),
  );
  if ((result.FailedEntryCount ?? 0) > 0) {
    const entry = result.Entries?.[0];
    throw new TransientError(
      `PutEvents rejected the ${event.detailType} entry: ${entry?.ErrorCode} ${entry?.ErrorMessage}`,
    );
  }
  return failure ?? {};
}
