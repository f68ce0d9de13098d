import { SAGEMAKER_NAME } from "../../config/validate.ts";
import { InvalidInputError } from "./errors.ts";
import { parseModelPackageArn } from "./names.ts";
import type { Trigger } from "./plan.ts";

/** The state machine input, validated: what the console re-run, the approval rule and the schedule send. */
export interface DeploymentRequest {
  modelPackageArn?: string;
  modelPackageGroupName?: string;
  trigger: Trigger;
  force: boolean;
  targets?: string[];
}

const KEYS = ["modelPackageArn", "modelPackageGroupName", "trigger", "force", "targets"];
const TRIGGERS: Trigger[] = ["approval", "schedule", "manual"];
const EXAMPLE =
  'expected {"modelPackageArn": "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>"} or {"modelPackageGroupName": "<group>"}, optionally with "force": true, "targets": ["<target>"], "trigger"';

/**
 * Validates the execution input; every message says what is wrong and what is expected.
 * @example parseDeploymentRequest({ modelPackageGroupName: "my-group", force: true })
 */
export function parseDeploymentRequest(input: unknown): DeploymentRequest {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new InvalidInputError(`input must be a JSON object; ${EXAMPLE}`);
  const raw = input as Record<string, unknown>;
  const unknown = Object.keys(raw).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0)
    throw new InvalidInputError(
      `input has unknown field(s) ${unknown.join(", ")}; allowed: ${KEYS.join(", ")}`,
    );
  const { modelPackageArn, modelPackageGroupName, trigger = "manual", force = false, targets } = raw;
  if ((modelPackageArn === undefined) === (modelPackageGroupName === undefined))
    throw new InvalidInputError(
      `input must have exactly one of modelPackageArn and modelPackageGroupName; ${EXAMPLE}`,
    );
  if (
    modelPackageArn !== undefined &&
    (typeof modelPackageArn !== "string" || !parseModelPackageArn(modelPackageArn))
  )
    throw new InvalidInputError(
      `input.modelPackageArn must be a versioned model package ARN arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version> (got ${JSON.stringify(modelPackageArn)})`,
    );
  if (
    modelPackageGroupName !== undefined &&
    (typeof modelPackageGroupName !== "string" || !SAGEMAKER_NAME.test(modelPackageGroupName))
  )
    throw new InvalidInputError(
      `input.modelPackageGroupName must be a model package group name (letters, digits, dashes; at most 63) (got ${JSON.stringify(modelPackageGroupName)})`,
    );
  if (typeof trigger !== "string" || !TRIGGERS.includes(trigger as Trigger))
    throw new InvalidInputError(
      `input.trigger must be one of ${TRIGGERS.join(", ")} (got ${JSON.stringify(trigger)})`,
    );
  if (typeof force !== "boolean")
    throw new InvalidInputError(`input.force must be true or false (got ${JSON.stringify(force)})`);
  if (targets !== undefined) {
    if (!Array.isArray(targets) || targets.length === 0)
      throw new InvalidInputError(
        `input.targets must be a non-empty array of target names (got ${JSON.stringify(targets)})`,
      );
    targets.forEach((t, i) => {
      if (typeof t !== "string" || t === "")
        throw new InvalidInputError(`input.targets[${i}] must be a target name (got ${JSON.stringify(t)})`);
    });
  }
  return {
    ...(modelPackageArn !== undefined ? { modelPackageArn: modelPackageArn as string } : {}),
    ...(modelPackageGroupName !== undefined
      ? { modelPackageGroupName: modelPackageGroupName as string }
      : {}),
    trigger: trigger as Trigger,
    force,
    ...(targets !== undefined ? { targets: targets as string[] } : {}),
  };
}
