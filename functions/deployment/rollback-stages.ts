import {
  CancelDeploymentCommand,
  type ComponentDeploymentSpecification,
  CreateDeploymentCommand,
  type GreengrassV2Client,
} from "@aws-sdk/client-greengrassv2";
import { greengrass as defaultGreengrass } from "../shared/clients.ts";
import { errorName } from "../shared/errors.ts";
import { logger } from "../shared/handler.ts";
import { RollbackIncompleteError } from "./errors.ts";
import { clientToken } from "./names.ts";
import type { DeploymentPlan, RolloutState } from "./plan.ts";
import { deploymentPolicies, TAG_EXECUTION, TAG_STAGE } from "./rollout.ts";

export interface RolledBackStage {
  stageName: string;
  targetArn: string;
  action: "redeployed-previous" | "canceled";
  deploymentId: string;
}

export interface RollbackResult {
  stages: RolledBackStage[];
}

/**
 * Puts every stage this execution touched back on the components it had before (newest stage first);
 * a group that had no deployment before gets ours cancelled. Every stage is attempted even when one
 * fails; then the failures are reported together (the state machine retries, and client tokens make
 * the repeat a no-op for the stages already done).
 */
export async function rollbackStages(
  event: { plan: DeploymentPlan; rollout: RolloutState },
  deps: { greengrass?: GreengrassV2Client } = {},
): Promise<RollbackResult> {
  const greengrass = deps.greengrass ?? defaultGreengrass;
  const { plan, rollout } = event;
  const stages: RolledBackStage[] = [];
  const failures: string[] = [];
  for (const touched of [...rollout.touched].reverse()) {
    try {
      if (touched.previousComponents) {
        const created = await greengrass.send(
          new CreateDeploymentCommand({
            targetArn: touched.targetArn,
            deploymentName: `${plan.componentName} rollback from ${plan.componentVersion} (${touched.stageName})`,
            components: touched.previousComponents as Record<string, ComponentDeploymentSpecification>,
            deploymentPolicies,
            clientToken: clientToken(plan.executionName, touched.stageName, "rollback"),
            tags: {
              [TAG_EXECUTION]: plan.executionName,
              [TAG_STAGE]: touched.stageName,
              "edge-mlops:rollback-of": touched.deploymentId,
            },
          }),
        );
        stages.push({
          ...pick(touched),
          action: "redeployed-previous",
          deploymentId: created.deploymentId ?? "",
        });
      } else {
        try {
          await greengrass.send(new CancelDeploymentCommand({ deploymentId: touched.deploymentId }));
        } catch (error) {
          // Already cancelled or finished: the state we want.
          if (errorName(error) !== "ConflictException") throw error;
        }
        stages.push({ ...pick(touched), action: "canceled", deploymentId: touched.deploymentId });
      }
    } catch (error) {
      logger.error("rollback of a stage failed", { stage: touched.stageName, error: error as Error });
      failures.push(
        `${touched.stageName} (${touched.targetArn}): ${(error as Error).name}: ${(error as Error).message}`,
      );
    }
  }
  if (failures.length > 0)
    throw new RollbackIncompleteError(
      `rollback failed for ${failures.length} of ${rollout.touched.length} stage(s): ${failures.join("; ")}`,
    );
  return { stages };
}

const pick = (t: { stageName: string; targetArn: string }) => ({
  stageName: t.stageName,
  targetArn: t.targetArn,
});
